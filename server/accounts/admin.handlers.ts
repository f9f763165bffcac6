import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type AdminHandlers = Pick<
  HandlerTable,
  | 'Admin/domainCreate'
  | 'Admin/domainList'
  | 'Admin/domainUpdate'
  | 'Admin/accountCreate'
  | 'Admin/accountGet'
  | 'Admin/accountList'
  | 'Admin/accountUpdate'
  | 'Admin/accountDisable'
  | 'Admin/accountEnable'
  | 'Admin/accountSetPassword'
>;

/** Provisioning over the protocol: thin adapters; the services check rights. */
export function adminHandlers({ accounts, domains }: Services): AdminHandlers {
  return {
    'Admin/domainCreate': async (args, { actor }) => domains.createIfMissing(actor, args.name, args),
    'Admin/domainList': async (_args, { actor }) => ({ domains: await domains.list(actor) }),
    'Admin/domainUpdate': async (args, { actor }) => ({ domain: await domains.update(actor, args.name, args) }),
    'Admin/accountCreate': async (args, { actor }) => accounts.create(actor, args),
    'Admin/accountGet': async (args, { actor }) => ({ account: await accounts.get(actor, args.email) }),
    'Admin/accountList': async (args, { actor }) => accounts.list(actor, args),
    'Admin/accountUpdate': async (args, { actor }) => ({ account: await accounts.update(actor, args.email, args) }),
    'Admin/accountDisable': async (args, { actor }) => ({ account: await accounts.setEnabled(actor, args.email, false) }),
    'Admin/accountEnable': async (args, { actor }) => ({ account: await accounts.setEnabled(actor, args.email, true) }),
    'Admin/accountSetPassword': async (args, { actor }) => ({ account: await accounts.setPassword(actor, args.email, args.password) }),
  };
}
