import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type SchedulingHandlers = Pick<HandlerTable, 'Inbox/get' | 'Inbox/changes' | 'Inbox/set' | 'Inbox/delegateCopies' | 'Admin/resourceGet' | 'Admin/resourceSetPolicy' | 'Resource/decide'>;

/** Thin adapters: the inbox is the caller's own; resource policies need a (domain) admin (ResourceService). */
export function schedulingHandlers({ inbox, resources, approvals }: Services): SchedulingHandlers {
  return {
    'Inbox/get': async (args, { actor }) => inbox.get(actor, args),
    'Inbox/changes': async (args, { actor }) => inbox.changes(actor, args),
    'Inbox/set': async (args, { actor }) => inbox.set(actor, args),
    'Inbox/delegateCopies': async (args, { actor }) => inbox.delegateCopies(actor, args),
    'Admin/resourceGet': async (args, { actor }) => ({ resource: await resources.get(actor, args.email) }),
    'Admin/resourceSetPolicy': async (args, { actor }) => ({ resource: await resources.setPolicy(actor, args.email, args.policy) }),
    'Resource/decide': async (args, { actor }) => approvals.decide(actor, args),
  };
}
