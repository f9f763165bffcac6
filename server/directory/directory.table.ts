import type { Generated, GeneratedAlways, Insertable, Selectable, Updateable } from 'kysely';

/**
 * The Global Address List tables (migrations/2026-11-21_0200_directory.ts).
 *
 * Rules every reader and writer follows:
 * - Readers outside the admin write path filter on `visible` (false for
 *   hidden entries, disabled accounts and tombstones): hidden entries never
 *   appear in the protocol, LDAP or exports.
 * - Writers go through DirectoryService: it bumps the domain's GAL scope
 *   (galScope(domainId) in sync/scope-id.ts) first, stamps changed rows with the new
 *   modseq, and deletes by tombstoning (deleted = true, deleted_at = now()).
 * - `email`, `alias` are stored lower-case. Searches read the term tables
 *   (directory_match_values, directory_anr_keys; search/search-terms.ts),
 *   never these columns with LIKE.
 * - `modseq` doubles as the entry's version for conditional updates.
 */
export type DirectoryKind = 'person' | 'group' | 'resource';
export type ResourceType = 'room' | 'equipment';
export type PhotoType = 'image/jpeg' | 'image/png';

export interface DirectoryEntryTable {
  id: Generated<string>;
  domain_id: string;
  kind: DirectoryKind;
  /** Set for people backed by an account: email and display name follow the account. */
  account_id: string | null;
  /** Import identity for entries without an email (an LDIF DN, an HR id). */
  source_key: string | null;
  email: string | null;
  display_name: string;
  /** The cn values an import carried (LDAP cn, exported as is); null: cn is the display name. */
  common_names: string[] | null;
  given_name: string | null;
  surname: string | null;
  title: string | null;
  department: string | null;
  company: string | null;
  office: string | null;
  business_phone: string | null;
  mobile_phone: string | null;
  manager_id: string | null;
  /** At most 100 KiB (a CHECK enforces it); JPEG or PNG. */
  photo: Buffer | null;
  photo_type: PhotoType | null;
  /** Hash of the photo bytes; changes exactly when the photo does. */
  photo_etag: string | null;
  hidden: Generated<boolean>;
  account_disabled: Generated<boolean>;
  resource_type: ResourceType | null;
  capacity: number | null;
  location: string | null;
  modseq: number;
  /** The modseq of the write that created the row (null only if written by hand). */
  created_modseq: number | null;
  deleted: Generated<boolean>;
  deleted_at: Date | null;
  /** The modseq at which `visible` last changed (null: never visible); kept by a trigger (migration 1300). */
  visibility_modseq: Generated<number | null>;
  /** not hidden and not account_disabled and not deleted (a stored generated column). */
  visible: GeneratedAlways<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Version of the search-term algorithm the entry's terms were made with (search/search-terms.ts); null: not yet. */
  terms_version: number | null;
}
export type DirectoryEntryRow = Selectable<DirectoryEntryTable>;
export type NewDirectoryEntryRow = Insertable<DirectoryEntryTable>;
export type DirectoryEntryUpdate = Updateable<DirectoryEntryTable>;

/** Further addresses of an entry; unique per domain (and never equal to another entry's email). */
export interface DirectoryAliasTable {
  domain_id: string;
  alias: string;
  entry_id: string;
}

/** Group membership; nesting allowed, cycles rejected by DirectoryService. */
export interface DirectoryMemberTable {
  group_id: string;
  member_id: string;
}

/** One LDAP-matchable value, prepared per its attribute's matching rule (search/search-terms.ts). */
export interface DirectoryMatchValueTable {
  entry_id: string;
  domain_id: string;
  attr: string;
  value: string;
  approx: string[];
}

/** One folded word (or a one- or two-letter prefix of one) that ambiguous-name search finds the entry by. */
export interface DirectoryAnrKeyTable {
  entry_id: string;
  domain_id: string;
  visible: boolean;
  kind: DirectoryKind;
  key: string;
  sort_name: string;
}
