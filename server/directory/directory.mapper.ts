import type { AdminDirectoryEntry, DirectoryEntry, DirectoryEntryColumns } from '../../protocol/index.ts';
import { packColumns } from '../../protocol/index.ts';
import type { EntryRow } from './directory.repository.ts';

/** The columns of a row that every reader's view of the entry is made of (a GAL full sync reads only these). */
export type ShownRow = Pick<
  EntryRow,
  | 'id'
  | 'kind'
  | 'display_name'
  | 'email'
  | 'given_name'
  | 'surname'
  | 'title'
  | 'department'
  | 'company'
  | 'office'
  | 'business_phone'
  | 'mobile_phone'
  | 'visible_manager_id'
  | 'account_id'
  | 'photo_type'
  | 'photo_etag'
  | 'photo_size'
  | 'resource_type'
  | 'capacity'
  | 'location'
  | 'modseq'
  | 'updated_at_iso'
>;

type FieldRule<F extends keyof DirectoryEntry> = (row: ShownRow, aliases: readonly string[], memberIds: readonly string[] | undefined) => DirectoryEntry[F];

/**
 * The one policy of what a reader sees of an entry, field by field: an entry
 * as an object (toDirectoryEntry) and a page of entries by column
 * (toEntryColumns) are both made from these rules, so they cannot differ.
 * The caller has filtered out invisible rows; `visible_manager_id` is null
 * unless the manager is visible; `memberIds` are the visible members.
 */
const FIELD_RULES: { [F in keyof DirectoryEntry]: FieldRule<F> } = {
  id: (row) => row.id,
  kind: (row) => row.kind,
  displayName: (row) => row.display_name,
  email: (row) => row.email,
  aliases: (_, aliases) => [...aliases],
  givenName: (row) => row.given_name,
  surname: (row) => row.surname,
  title: (row) => row.title,
  department: (row) => row.department,
  company: (row) => row.company,
  office: (row) => row.office,
  businessPhone: (row) => row.business_phone,
  mobilePhone: (row) => row.mobile_phone,
  managerId: (row) => row.visible_manager_id ?? null,
  isAccount: (row) => row.account_id !== null,
  photo: (row) => (row.photo_type && row.photo_etag && row.photo_size ? { type: row.photo_type, size: row.photo_size, etag: row.photo_etag } : null),
  memberIds: (row, _, memberIds) => (row.kind === 'group' ? [...(memberIds ?? [])] : null),
  resourceType: (row) => row.resource_type,
  capacity: (row) => row.capacity,
  location: (row) => row.location,
  version: (row) => row.modseq,
  updatedAt: (row) => row.updated_at_iso,
};
const FIELDS = Object.keys(FIELD_RULES) as (keyof DirectoryEntry)[];
const NO_ALIASES: readonly string[] = [];

/** Row → protocol entry as every reader sees it (the caller has filtered out invisible rows). */
export function toDirectoryEntry(row: ShownRow, aliases: readonly string[], memberIds: readonly string[] | undefined): DirectoryEntry {
  const entry: Record<string, unknown> = {};
  for (const field of FIELDS) entry[field] = FIELD_RULES[field](row, aliases, memberIds);
  return entry as DirectoryEntry;
}

/**
 * Rows → the entries by column (protocol/entry-columns.ts), straight from the
 * rows: no entry objects in between (a full sync's page of 5,000 entries made
 * 5,000 objects of 22 fields only to take them apart again).
 */
export function toEntryColumns(rows: readonly ShownRow[], aliases: ReadonlyMap<string, readonly string[]>, members: ReadonlyMap<string, readonly string[]>): DirectoryEntryColumns {
  const aliasesOf = rows.map((row) => aliases.get(row.id) ?? NO_ALIASES);
  const membersOf = rows.map((row) => members.get(row.id));
  return packColumns(rows.length, (field) => {
    const rule = FIELD_RULES[field] as FieldRule<typeof field>;
    return rows.map((row, i) => rule(row, aliasesOf[i]!, membersOf[i]));
  });
}

/** Row → what an admin sees: hidden flags, source key, the manager and members even when hidden. */
export function toAdminEntry(row: EntryRow, domain: string, aliases: readonly string[], memberIds: readonly string[] | undefined): AdminDirectoryEntry {
  return {
    ...toDirectoryEntry(row, aliases, memberIds),
    managerId: row.manager_id,
    domain,
    hidden: row.hidden,
    accountDisabled: row.account_disabled,
    sourceKey: row.source_key,
    commonNames: row.common_names ?? [],
  };
}
