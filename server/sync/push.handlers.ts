import type { HandlerTable } from '../gateway/request-context.ts';
import type { PushHub } from './push-hub.ts';

export function pushHandlers(hub: PushHub): Pick<HandlerTable, 'Push/subscribe' | 'Push/unsubscribe'> {
  return {
    'Push/subscribe': async (args, { session }) => hub.followMany(session, args.scopes),
    'Push/unsubscribe': async (args, { session }) => {
      for (const scope of args.scopes) hub.unfollow(session, scope);
      return {};
    },
  };
}
