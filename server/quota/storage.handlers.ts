import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type StorageHandlers = Pick<HandlerTable, 'Admin/accountStorage' | 'Admin/accountSetQuota'>;

/** Thin adapters; StorageService checks rights. */
export function storageHandlers({ storage }: Services): StorageHandlers {
  return {
    'Admin/accountStorage': async (args, { actor }) => ({ storage: await storage.get(actor, args.email) }),
    'Admin/accountSetQuota': async (args, { actor }) => ({ storage: await storage.setQuota(actor, args.email, args.quotaBytes) }),
  };
}
