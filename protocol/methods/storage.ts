import { z } from 'zod';
import { EmailAddress } from './admin.ts';
import { defineMethod } from './define.ts';

/**
 * Per-account storage quota (docs/protocol.md §Storage quota): the bytes of
 * iCalendar text of the live events in the calendars an account owns. A
 * write that would take it past the quota is refused per object with
 * LIMIT_EXCEEDED. Admins read and set it like other account settings.
 */
export const AccountStorage = z.strictObject({
  email: z.string(),
  usedBytes: z.number().int(),
  quotaBytes: z.number().int(),
  /** True when the account has no quota of its own and the server's default applies. */
  quotaIsDefault: z.boolean(),
});
export type AccountStorage = z.infer<typeof AccountStorage>;

export const storageMethods = {
  'Admin/accountStorage': defineMethod({
    summary: "Reads an account's storage use and quota.",
    args: z.strictObject({ email: EmailAddress }),
    result: z.strictObject({ storage: AccountStorage }),
  }),
  'Admin/accountSetQuota': defineMethod({
    summary: "Sets an account's storage quota in bytes; null returns it to the server default. A quota below the use only stops growth.",
    args: z.strictObject({ email: EmailAddress, quotaBytes: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable() }),
    result: z.strictObject({ storage: AccountStorage }),
  }),
} as const;
