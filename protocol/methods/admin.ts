import { z } from 'zod';
import { Role } from '../envelope.ts';
import { defineMethod } from './define.ts';

/**
 * Provisioning: what an HR system or an admin script calls. A global admin may
 * act on every domain; a domain admin only on accounts of its own domain, and
 * may not grant global_admin. Everyone else gets FORBIDDEN.
 */

export const DomainName = z
  .string()
  .min(1)
  .max(253)
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'not a valid domain name'));

export const EmailAddress = z
  .string()
  .min(3)
  .max(320)
  .transform((s) => s.toLowerCase())
  .pipe(z.string().regex(/^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'not a valid email address'));

/**
 * A BCP 47 language tag (RFC 5646 form: `de`, `fr-CA`, `es-419`), at most 35
 * characters; the server also checks it with Intl and stores it canonical.
 * null: not set (English).
 */
export const LanguageTag = z.string().min(2).max(35).regex(/^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$/, 'not a BCP 47 language tag (like de, fr-CA, es-419)');

export const Password = z.string().min(8, 'a password needs at least 8 characters').max(1024);

export const Domain = z.strictObject({
  id: z.string(),
  name: z.string(),
  createdAt: z.string(),
  accountCount: z.number().int(),
  /** Calendars of this domain may be shared with accounts of other domains that allow it too (default false). */
  crossDomainSharing: z.boolean(),
  /** The calendar attendant: iMIP invitations from organizers outside the server write the members' copies (default false). */
  calendarAttendant: z.boolean(),
});
export type Domain = z.infer<typeof Domain>;

export const Account = z.strictObject({
  id: z.string(),
  email: z.string(),
  displayName: z.string(),
  domain: z.string(),
  role: Role,
  enabled: z.boolean(),
  /** The account's language (BCP 47) for what the server writes for it, e.g. iMIP mail summaries; null: not set (English). */
  language: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Account = z.infer<typeof Account>;

const AccountRef = z.strictObject({ email: EmailAddress });

export const adminMethods = {
  'Admin/domainCreate': defineMethod({
    summary: 'Creates a mail domain. Global admins only. Idempotent when `ifNotExists` is true (an existing domain is returned with created: false).',
    args: z.strictObject({ name: DomainName, ifNotExists: z.boolean().default(false) }),
    result: z.strictObject({ domain: Domain, created: z.boolean() }),
  }),
  'Admin/domainList': defineMethod({
    summary: 'Lists domains (a domain admin sees its own).',
    args: z.strictObject({}),
    result: z.strictObject({ domains: z.array(Domain) }),
  }),
  'Admin/domainUpdate': defineMethod({
    summary:
      "Changes a domain's settings (those given, at least one): crossDomainSharing lets its calendars be shared with (and its accounts receive) calendars of other domains that allow it too; calendarAttendant makes iMIP invitations and cancellations from organizers outside the server write its members' copies. A global admin, or the domain's own domain admin.",
    args: z.strictObject({ name: DomainName, crossDomainSharing: z.boolean().optional(), calendarAttendant: z.boolean().optional() }),
    result: z.strictObject({ domain: Domain }),
  }),
  'Admin/accountCreate': defineMethod({
    summary: "Creates an account in an existing domain (the email's domain part). Idempotent per email when `ifNotExists` is true.",
    args: z.strictObject({
      email: EmailAddress,
      displayName: z.string().min(1).max(256),
      password: Password,
      role: Role.default('user'),
      ifNotExists: z.boolean().default(false),
    }),
    result: z.strictObject({ account: Account, created: z.boolean() }),
  }),
  'Admin/accountGet': defineMethod({
    summary: 'Reads one account by email.',
    args: AccountRef,
    result: z.strictObject({ account: Account }),
  }),
  'Admin/accountList': defineMethod({
    summary: 'Lists accounts ordered by email, paged with `after` (the last email of the previous page).',
    args: z.strictObject({
      domain: DomainName.optional(),
      after: z.string().max(320).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    result: z.strictObject({ accounts: z.array(Account), hasMore: z.boolean() }),
  }),
  'Admin/accountUpdate': defineMethod({
    summary: 'Changes display name, role or language (a BCP 47 tag; null unsets it).',
    args: z.strictObject({
      email: EmailAddress,
      displayName: z.string().min(1).max(256).optional(),
      role: Role.optional(),
      language: LanguageTag.nullable().optional(),
    }),
    result: z.strictObject({ account: Account }),
  }),
  'Admin/accountDisable': defineMethod({
    summary: 'Disables an account: its live sessions on every node close within a second and new ones are refused.',
    args: AccountRef,
    result: z.strictObject({ account: Account }),
  }),
  'Admin/accountEnable': defineMethod({
    summary: 'Enables a disabled account.',
    args: AccountRef,
    result: z.strictObject({ account: Account }),
  }),
  'Admin/accountSetPassword': defineMethod({
    summary: "Sets an account's password; revokes its resume tokens and closes its sessions.",
    args: z.strictObject({ email: EmailAddress, password: Password }),
    result: z.strictObject({ account: Account }),
  }),
} as const;
