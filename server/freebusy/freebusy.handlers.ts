import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type FreeBusyHandlers = Pick<HandlerTable, 'FreeBusy/query' | 'FreeBusy/suggest' | 'FreeBusy/publish' | 'FreeBusy/getSettings' | 'FreeBusy/setSettings' | 'FreeBusy/getDomainPolicy' | 'FreeBusy/setDomainPolicy'>;

/** Thin adapters; FreeBusyService checks rights and the privacy policy decides what is shown. */
export function freeBusyHandlers({ freeBusy }: Services): FreeBusyHandlers {
  return {
    'FreeBusy/query': async (args, { actor }) => freeBusy.query(actor, args),
    'FreeBusy/suggest': async (args, { actor }) => freeBusy.suggest(actor, args),
    'FreeBusy/publish': async (args, { actor }) => freeBusy.publish(actor, args.enabled),
    'FreeBusy/getSettings': async (args, { actor }) => ({ settings: await freeBusy.getSettings(actor, args.email) }),
    'FreeBusy/setSettings': async (args, { actor }) => ({ settings: await freeBusy.setSettings(actor, args) }),
    'FreeBusy/getDomainPolicy': async (args, { actor }) => ({ policy: await freeBusy.getDomainPolicy(actor, args.domain) }),
    'FreeBusy/setDomainPolicy': async (args, { actor }) => ({ policy: await freeBusy.setDomainPolicy(actor, args) }),
  };
}
