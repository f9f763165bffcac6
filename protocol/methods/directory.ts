import { z } from 'zod';
import { DomainName, EmailAddress } from './admin.ts';
import { defineMethod } from './define.ts';

/**
 * The Global Address List (GAL): one directory per domain, synced like a
 * calendar (DESIGN §4) through the sync scope `gal:<domainId>`. Every
 * account reads its own domain's GAL; hidden entries, disabled accounts and
 * deleted entries are never shown. Admin/directory* methods write it:
 * domain admins in their own domain, global admins everywhere.
 */

/** Limits of the directory methods, with their defaults. Documented in docs/protocol.md §Directory. */
export const DirectoryLimits = {
  /** Default and largest `maxChanges` of Directory/changes (the largest is also limits.maxChangesPerCall). */
  defaultMaxChanges: 1_000,
  maxChanges: 5_000,
  /** Ids in one Directory/get. */
  maxGetIds: 500,
  /** Ids in one Directory/getPhotos (photos are up to 100 KiB each). */
  maxPhotoIds: 20,
  /** Largest photo in bytes (JPEG or PNG). */
  maxPhotoBytes: 100 * 1024,
  /** Default and largest page of Directory/query. */
  defaultQueryLimit: 50,
  maxQueryLimit: 500,
  /** Strings in one Directory/resolve. */
  maxResolveNames: 100,
  /** Default and largest number of candidates per ambiguous name. */
  defaultCandidates: 10,
  maxCandidates: 50,
  /** Default and largest number of members a group expands to (all levels together). */
  defaultExpandMembers: 1_000,
  maxExpandMembers: 5_000,
  /** Nesting levels followed when expanding a group; deeper members are left out and `truncated` is set. */
  maxExpandDepth: 16,
  /** Members of one group. */
  maxMembers: 5_000,
  /** Member ids in one Directory/get, /query or /resolve answer (groups together); more → LIMIT_EXCEEDED. */
  maxMemberIdsPerResponse: 100_000,
  /** Aliases of one entry. */
  maxAliases: 50,
  /** Common names (LDAP cn values) of one entry. */
  maxCommonNames: 20,
  /** Length of a search or resolve string. */
  maxSearchText: 256,
} as const;

export const DirectoryKind = z.enum(['person', 'group', 'resource']);
export type DirectoryKind = z.infer<typeof DirectoryKind>;
export const ResourceType = z.enum(['room', 'equipment']);

export const EntryId = z.uuid({ error: 'not a directory entry id' });

/** A photo as the GAL announces it; the bytes come from Directory/getPhotos. */
export const PhotoInfo = z.strictObject({ type: z.enum(['image/jpeg', 'image/png']), size: z.number().int(), etag: z.string() });

/** One GAL entry as every reader sees it. Fields a kind does not use are null. */
export const DirectoryEntry = z.strictObject({
  id: z.string(),
  kind: DirectoryKind,
  displayName: z.string(),
  email: z.string().nullable(),
  aliases: z.array(z.string()),
  givenName: z.string().nullable(),
  surname: z.string().nullable(),
  title: z.string().nullable(),
  department: z.string().nullable(),
  company: z.string().nullable(),
  office: z.string().nullable(),
  businessPhone: z.string().nullable(),
  mobilePhone: z.string().nullable(),
  /** Another entry's id; null when none or when the manager is not visible. */
  managerId: z.string().nullable(),
  /** True for people who have an account (can sign in, have calendars). */
  isAccount: z.boolean(),
  photo: PhotoInfo.nullable(),
  /** Groups: the ids of the visible direct members (people, resources, groups). Null for other kinds. */
  memberIds: z.array(z.string()).nullable(),
  resourceType: ResourceType.nullable(),
  capacity: z.number().int().nullable(),
  location: z.string().nullable(),
  /** Changes whenever the entry (as shown) changes; pass it as `ifVersion` to a conditional update. */
  version: z.number().int(),
  updatedAt: z.string(),
});
export type DirectoryEntry = z.infer<typeof DirectoryEntry>;

/** What an admin sees: the entry plus the fields readers never get. */
export const AdminDirectoryEntry = DirectoryEntry.extend({
  domain: z.string(),
  hidden: z.boolean(),
  /** True for a disabled account: hidden from the GAL until it is enabled again. */
  accountDisabled: z.boolean(),
  sourceKey: z.string().nullable(),
  /** The LDAP cn values an import set; empty: cn is the display name. */
  commonNames: z.array(z.string()),
  /** Admins see every member, hidden ones included. */
  memberIds: z.array(z.string()).nullable(),
});
export type AdminDirectoryEntry = z.infer<typeof AdminDirectoryEntry>;

const text = (max = 256) => z.string().trim().min(1).max(max);
/** Optional text on input: a string sets it, null clears it (on update), absent leaves it. */
const optText = (max = 256) => text(max).nullable().optional();

/** A photo on input: msgpack bin (native) or base64 text. */
export const PhotoInput = z.union([z.instanceof(Uint8Array), z.base64().max(Math.ceil(DirectoryLimits.maxPhotoBytes / 3) * 4 + 4)]);

/** Attributes an admin or an import sets. Account-backed people take email and display name from the account. */
export const DirectoryFields = z.strictObject({
  displayName: text().optional(),
  /** LDAP cn values, kept apart from displayName (an LDIF's cn); null or [] → cn is the display name. */
  commonNames: z.array(text()).max(DirectoryLimits.maxCommonNames).nullable().optional(),
  email: EmailAddress.nullable().optional(),
  aliases: z.array(EmailAddress).max(DirectoryLimits.maxAliases).optional(),
  givenName: optText(),
  surname: optText(),
  title: optText(),
  department: optText(),
  company: optText(),
  office: optText(),
  businessPhone: optText(64),
  mobilePhone: optText(64),
  managerId: EntryId.nullable().optional(),
  photo: PhotoInput.nullable().optional(),
  hidden: z.boolean().optional(),
  resourceType: ResourceType.nullable().optional(),
  capacity: z.number().int().min(0).max(1_000_000).nullable().optional(),
  location: optText(),
  /** Import identity for entries without an email (e.g. an LDIF DN). */
  sourceKey: optText(1024),
});
export type DirectoryFields = z.infer<typeof DirectoryFields>;

/**
 * One field of a page's entries (docs/protocol.md §Directory, "Entry
 * columns"): the values in entry order, or a dictionary — the distinct
 * values once and, per entry, its index into them (nil: null).
 */
export type EntryColumn<T> = T[] | { values: NonNullable<T>[]; index: (number | null)[] };
const column = (value: z.ZodType) => z.union([z.array(value), z.strictObject({ values: z.array(value), index: z.array(z.number().int().min(0).nullable()) })]);

/**
 * The entries of a Directory/changes page (and of a GAL push) on the wire,
 * by column rather than one map per entry: a 5,000-entry page is ~2.5×
 * smaller and encodes and decodes several times faster (docs/decisions.md).
 * A column absent from `columns` holds its field's empty value for every
 * entry (null; `[]` for aliases, false for isAccount). protocol/entry-columns.ts
 * packs and unpacks it.
 */
export interface DirectoryEntryColumns {
  count: number;
  columns: { [F in keyof DirectoryEntry]?: EntryColumn<DirectoryEntry[F]> };
}
export const DirectoryEntryColumns = z.strictObject({
  count: z.number().int().min(0),
  columns: z.strictObject(Object.fromEntries(Object.entries(DirectoryEntry.shape).map(([field, value]) => [field, column(value).optional()]))),
}) as unknown as z.ZodType<DirectoryEntryColumns>;

const ChangesPage = z.strictObject({
  /** The GAL's scope id, for Push/subscribe. */
  scope: z.string(),
  oldState: z.string(),
  newState: z.string(),
  hasMoreChanges: z.boolean(),
  /** Entries the client has not seen (created after oldState). */
  created: DirectoryEntryColumns,
  /** Entries that changed or became visible. Apply both lists as upserts by id. */
  updated: DirectoryEntryColumns,
  /** Ids that were deleted or became invisible (hidden, account disabled). */
  destroyed: z.array(z.string()),
});
/** A Directory/changes page as it travels (entries by column). */
export type DirectoryChangesWire = z.infer<typeof ChangesPage>;
/** A Directory/changes page with its entries as objects: what the server builds and the client library hands its callers. */
export type DirectoryChangesPage = Omit<DirectoryChangesWire, 'created' | 'updated'> & { created: DirectoryEntry[]; updated: DirectoryEntry[] };

const ResolveResult = z.strictObject({
  name: z.string(),
  status: z.enum(['exact', 'ambiguous', 'notFound']),
  /** For `exact`: the entry. */
  entry: DirectoryEntry.optional(),
  /** For `ambiguous`: the best matches, in display-name order, at most maxCandidates. */
  candidates: z.array(DirectoryEntry).optional(),
  /** For `exact` groups with expandGroups: every person and resource reached, each once. */
  members: z.array(DirectoryEntry).optional(),
  /** The expansion stopped at maxMembers or maxExpandDepth, or the members list at limits.maxAnswerBytes. */
  truncated: z.boolean().optional(),
});

export const directoryMethods = {
  'Directory/changes': defineMethod({
    summary:
      "Delta sync of the caller's domain GAL. Without sinceState: every visible entry (a full sync). Paged: call again with newState while hasMoreChanges.",
    args: z.strictObject({
      sinceState: z.string().max(64).optional(),
      maxChanges: z.number().int().min(1).max(DirectoryLimits.maxChanges).default(DirectoryLimits.defaultMaxChanges),
    }),
    result: ChangesPage,
  }),
  'Directory/get': defineMethod({
    summary:
      'Reads GAL entries by id. Ids that do not exist or are not visible are in notFound. With hasMore the list ended early at limits.maxAnswerBytes: ask again for the ids in neither list nor notFound.',
    args: z.strictObject({ ids: z.array(EntryId).min(1).max(DirectoryLimits.maxGetIds) }),
    result: z.strictObject({ state: z.string(), list: z.array(DirectoryEntry), notFound: z.array(z.string()), hasMore: z.boolean() }),
  }),
  'Directory/getPhotos': defineMethod({
    summary: 'Reads photos (msgpack bin) of GAL entries by id. Ids without a visible entry or a photo are in notFound.',
    args: z.strictObject({ ids: z.array(EntryId).min(1).max(DirectoryLimits.maxPhotoIds) }),
    result: z.strictObject({
      photos: z.array(z.strictObject({ id: z.string(), type: z.string(), etag: z.string(), data: z.instanceof(Uint8Array) })),
      notFound: z.array(z.string()),
    }),
  }),
  'Directory/query': defineMethod({
    summary:
      'Prefix search (case-insensitive) over display name, given name, surname, email, aliases and department, ordered by display name. Without text: the whole GAL in order.',
    args: z.strictObject({
      text: z.string().max(DirectoryLimits.maxSearchText).optional(),
      kinds: z.array(DirectoryKind).min(1).max(3).optional(),
      /** Zero-based offset; or use `after` (the `nextCursor` of the previous page), which stays fast deep into the list. */
      position: z.number().int().min(0).max(1_000_000).default(0),
      after: z.string().max(600).optional(),
      limit: z.number().int().min(1).max(DirectoryLimits.maxQueryLimit).default(DirectoryLimits.defaultQueryLimit),
      calculateTotal: z.boolean().default(false),
    }),
    result: z.strictObject({
      entries: z.array(DirectoryEntry),
      position: z.number().int(),
      hasMore: z.boolean(),
      /** Pass as `after` for the next page; absent when there is none. */
      nextCursor: z.string().optional(),
      total: z.number().int().optional(),
    }),
  }),
  'Directory/resolve': defineMethod({
    summary:
      'Resolves typed strings as "check names" does: an email or alias, an exact display name, or a unique prefix → exact; several matches → ambiguous with candidates; none → notFound.',
    args: z.strictObject({
      names: z.array(z.string().min(1).max(DirectoryLimits.maxSearchText)).min(1).max(DirectoryLimits.maxResolveNames),
      kinds: z.array(DirectoryKind).min(1).max(3).optional(),
      maxCandidates: z.number().int().min(1).max(DirectoryLimits.maxCandidates).default(DirectoryLimits.defaultCandidates),
      expandGroups: z.boolean().default(false),
      maxMembers: z.number().int().min(1).max(DirectoryLimits.maxExpandMembers).default(DirectoryLimits.defaultExpandMembers),
    }),
    result: z.strictObject({ results: z.array(ResolveResult) }),
  }),

  'Admin/directoryCreate': defineMethod({
    summary:
      'Creates an external contact, a group or a resource in a domain (people with accounts appear by themselves). With ifNotExists, an entry of that kind already holding the email or sourceKey is returned instead (created: false), so a retried create never makes a duplicate.',
    args: z.strictObject({
      domain: DomainName,
      kind: DirectoryKind,
      fields: DirectoryFields.extend({ displayName: text() }),
      /** Groups: initial members (entry ids of the same domain). */
      memberIds: z.array(EntryId).max(DirectoryLimits.maxMembers).optional(),
      ifNotExists: z.boolean().default(false),
    }),
    result: z.strictObject({ entry: AdminDirectoryEntry, created: z.boolean() }),
  }),
  'Admin/directoryGet': defineMethod({
    summary: 'Reads one entry as an admin sees it (hidden entries included).',
    args: z.strictObject({ id: EntryId }),
    result: z.strictObject({ entry: AdminDirectoryEntry }),
  }),
  'Admin/directoryList': defineMethod({
    summary: "Lists a domain's entries (hidden ones included) in display-name order, paged with `after` (the previous page's nextCursor).",
    args: z.strictObject({
      domain: DomainName,
      kinds: z.array(DirectoryKind).min(1).max(3).optional(),
      after: z.string().max(600).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    }),
    result: z.strictObject({ entries: z.array(AdminDirectoryEntry), nextCursor: z.string().optional() }),
  }),
  'Admin/directoryUpdate': defineMethod({
    summary: 'Changes attributes of an entry: a field set to null is cleared, an absent one kept. `ifVersion` makes it conditional.',
    args: z.strictObject({ id: EntryId, ifVersion: z.number().int().optional(), fields: DirectoryFields }),
    result: z.strictObject({ entry: AdminDirectoryEntry }),
  }),
  'Admin/directoryHide': defineMethod({
    summary: 'Hides an entry from the GAL everywhere (protocol, LDAP, exports), or shows it again with hidden: false.',
    args: z.strictObject({ id: EntryId, hidden: z.boolean().default(true) }),
    result: z.strictObject({ entry: AdminDirectoryEntry }),
  }),
  'Admin/directorySetMembers': defineMethod({
    summary: "Replaces a group's members. Nesting is allowed; a change that would make a cycle is refused with INVALID_ARGUMENTS.",
    args: z.strictObject({ id: EntryId, ifVersion: z.number().int().optional(), memberIds: z.array(EntryId).max(DirectoryLimits.maxMembers) }),
    result: z.strictObject({ entry: AdminDirectoryEntry }),
  }),
  'Admin/directoryDelete': defineMethod({
    summary: "Deletes a contact, group or resource (it leaves the groups it was in). Entries of accounts cannot be deleted: disable the account or hide the entry.",
    args: z.strictObject({ id: EntryId, ifVersion: z.number().int().optional() }),
    result: z.strictObject({}),
  }),
} as const;
