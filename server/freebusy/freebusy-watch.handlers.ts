import type { HandlerTable } from '../gateway/request-context.ts';
import type { FreeBusyWatches } from './freebusy-watches.ts';

/** Thin adapters: a watch belongs to the session that asked for it. */
export function freeBusyWatchHandlers(watches: FreeBusyWatches): Pick<HandlerTable, 'FreeBusy/watch' | 'FreeBusy/unwatch'> {
  return {
    'FreeBusy/watch': async (args, { session }) => watches.watch(session, args),
    'FreeBusy/unwatch': async (_args, { session }) => {
      watches.unwatch(session);
      return {};
    },
  };
}
