import type { HandlerTable } from '../gateway/request-context.ts';
import type { DirectoryService } from './directory.service.ts';

type DirectoryHandlers = Pick<
  HandlerTable,
  | 'Directory/changes'
  | 'Directory/get'
  | 'Directory/getPhotos'
  | 'Directory/query'
  | 'Directory/resolve'
  | 'Admin/directoryCreate'
  | 'Admin/directoryGet'
  | 'Admin/directoryList'
  | 'Admin/directoryUpdate'
  | 'Admin/directoryHide'
  | 'Admin/directorySetMembers'
  | 'Admin/directoryDelete'
>;

/** The GAL over the protocol: thin adapters; the service checks rights. */
export function directoryHandlers(directory: DirectoryService): DirectoryHandlers {
  return {
    // Pages travel with their entries by column (protocol/entry-columns.ts).
    'Directory/changes': async (args, { actor }) => directory.changes(actor, args),
    'Directory/get': async (args, { actor }) => directory.get(actor, args.ids),
    'Directory/getPhotos': async (args, { actor }) => directory.getPhotos(actor, args.ids),
    'Directory/query': async (args, { actor }) => directory.query(actor, args),
    'Directory/resolve': async (args, { actor }) => directory.resolve(actor, args),
    'Admin/directoryCreate': async (args, { actor }) => directory.adminCreate(actor, args),
    'Admin/directoryGet': async (args, { actor }) => ({ entry: await directory.adminGet(actor, args.id) }),
    'Admin/directoryList': async (args, { actor }) => directory.adminList(actor, args),
    'Admin/directoryUpdate': async (args, { actor }) => ({ entry: await directory.adminUpdate(actor, args.id, args.fields, args.ifVersion) }),
    'Admin/directoryHide': async (args, { actor }) => ({ entry: await directory.adminHide(actor, args.id, args.hidden) }),
    'Admin/directorySetMembers': async (args, { actor }) => ({ entry: await directory.adminSetMembers(actor, args.id, args.memberIds, args.ifVersion) }),
    'Admin/directoryDelete': async (args, { actor }) => {
      await directory.adminDelete(actor, args.id, args.ifVersion);
      return {};
    },
  };
}
