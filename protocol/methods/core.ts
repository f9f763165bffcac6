import { z } from 'zod';
import { Role } from '../envelope.ts';
import { defineMethod } from './define.ts';
import { LanguageTag } from './admin.ts';

/** Methods every authenticated session may call. */
export const coreMethods = {
  'Core/echo': defineMethod({
    summary: 'Returns its arguments unchanged: a round-trip check for connectors and load tests.',
    args: z.strictObject({ payload: z.unknown().optional() }),
    result: z.strictObject({ payload: z.unknown().optional() }),
  }),
  'Session/get': defineMethod({
    summary: 'Who this session is: account, session id, protocol version, server node.',
    args: z.strictObject({}),
    result: z.strictObject({
      sessionId: z.string(),
      version: z.number().int(),
      node: z.string(),
      account: z.strictObject({
        id: z.string(),
        email: z.string(),
        displayName: z.string(),
        role: Role,
        domain: z.string(),
      }),
    }),
  }),
  'Session/logout': defineMethod({
    summary: "Revokes this session's resume token; the server then closes the socket normally.",
    args: z.strictObject({}),
    result: z.strictObject({}),
  }),
  'Account/changePassword': defineMethod({
    summary: "Changes the caller's own password. Revokes every resume token of the account, closes its other sessions and returns a new resume token for this one.",
    args: z.strictObject({
      currentPassword: z.string().min(1).max(1024),
      newPassword: z.string().min(8).max(1024),
    }),
    result: z.strictObject({ resumeToken: z.string(), resumeTokenExpiresAt: z.string() }),
  }),
  'Account/getPreferences': defineMethod({
    summary: "The caller's own preferences: `language` (BCP 47 tag, or null: not set), the language of what the server writes for the account, e.g. the readable part of iMIP mail it sends.",
    args: z.strictObject({}),
    result: z.strictObject({ language: z.string().nullable() }),
  }),
  'Account/setPreferences': defineMethod({
    summary: "Changes the caller's own preferences (those given): `language`, a BCP 47 tag stored canonical (`de-at` becomes `de-AT`), or null to unset it. A tag that is not BCP 47 is INVALID_ARGUMENTS. Returns the preferences as stored.",
    args: z.strictObject({ language: LanguageTag.nullable().optional() }),
    result: z.strictObject({ language: z.string().nullable() }),
  }),
} as const;
