import { z } from 'zod';
import { ErrorBody } from '../envelope.ts';
import { defineMethod } from './define.ts';

/**
 * Push subscriptions. A session follows sync scopes (a calendar's `scope`
 * from Calendar/get, a domain's GAL scope from Directory/changes, ...); every
 * committed change in a followed scope then arrives as a `push` frame. The
 * `state` given is the client's replica state, so the first push carries
 * exactly what the client is missing.
 */
export const ScopeId = z.string().min(3).max(128).regex(/^[a-z]+:[A-Za-z0-9:_-]+$/, 'not a scope id');

export const pushMethods = {
  'Push/subscribe': defineMethod({
    summary: 'Follows sync scopes. Scopes the session may not read are listed in notSubscribed; the others are followed.',
    args: z.strictObject({
      scopes: z
        .array(z.strictObject({ scope: ScopeId, state: z.string().max(64).optional() }))
        .min(1)
        .max(1000),
    }),
    result: z.strictObject({
      subscribed: z.array(z.strictObject({ scope: z.string(), state: z.string() })),
      notSubscribed: z.record(z.string(), ErrorBody),
    }),
  }),
  'Push/unsubscribe': defineMethod({
    summary: 'Stops following scopes. Unknown or unfollowed scopes are ignored.',
    args: z.strictObject({ scopes: z.array(ScopeId).min(1).max(1000) }),
    result: z.strictObject({}),
  }),
} as const;
