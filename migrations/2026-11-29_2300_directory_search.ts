import { sql, type Kysely } from 'kysely';

/**
 * Issue 13: attribute fidelity and a search index built for the GAL's queries.
 *
 * - directory_entries.common_names: the cn values an import carried, kept
 *   apart from the display name (null: cn is the display name, as for
 *   accounts and entries created through the API).
 * - directory_entries.terms_version: which version of the search-term
 *   algorithm (server/directory/search/) the entry's terms were computed
 *   with; null or older → recomputed at start-up. Rows written by this
 *   migration or by hand are therefore picked up without app code here.
 *   Not indexed: start-up's one scan for stale rows is cheap, and an index
 *   would make every entry write maintain it (and never update in place).
 * - directory_match_values: every LDAP-matchable value of an entry, prepared
 *   per its attribute's matching rule (RFC 4518) in the application, so
 *   equality and initial substrings are btree range scans and other
 *   substrings use a trigram index, whatever the database locale.
 *   `approx` holds the value's approximate-match keys.
 * - directory_anr_keys: folded words (diacritic- and case-insensitive) of the
 *   fields Outlook's ambiguous-name resolution searches, plus each word's
 *   one- and two-letter prefixes, with the entry's sort name, so a short
 *   typed prefix is one ordered index range read that stops at the page size.
 * - The term tables hold ~25 rows per entry, written in bulk by imports. A
 *   foreign key would check (and lock) the entry once per term row, which
 *   made a 100,000-entry import 60× slower; instead one statement-level
 *   trigger removes the terms of deleted entries (tombstones already have
 *   none: pruning and a domain's removal are what reach it).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists pg_trgm`.execute(db);
  await sql`alter table directory_entries add column common_names text[]`.execute(db);
  await sql`alter table directory_entries add column terms_version smallint`.execute(db);

  await sql`
    create table directory_match_values (
      entry_id uuid not null,
      domain_id uuid not null,
      attr text not null,
      value text not null,
      approx text[] not null
    )`.execute(db);
  await sql`create index directory_match_values_entry on directory_match_values (entry_id)`.execute(db);
  await sql`create index directory_match_values_value on directory_match_values (domain_id, attr, value text_pattern_ops)`.execute(db);
  await sql`create index directory_match_values_trgm on directory_match_values using gin (value gin_trgm_ops)`.execute(db);
  await sql`create index directory_match_values_approx on directory_match_values using gin (approx)`.execute(db);

  await sql`
    create table directory_anr_keys (
      entry_id uuid not null,
      domain_id uuid not null,
      visible boolean not null,
      kind text not null,
      key text not null,
      sort_name text not null
    )`.execute(db);
  await sql`create index directory_anr_keys_entry on directory_anr_keys (entry_id)`.execute(db);
  await sql`create index directory_anr_keys_search on directory_anr_keys (domain_id, visible, key text_pattern_ops, sort_name, entry_id) include (kind)`.execute(db);

  await sql`
    create function directory_entries_drop_terms() returns trigger language plpgsql as $$
    begin
      delete from directory_match_values v using gone where v.entry_id = gone.id;
      delete from directory_anr_keys k using gone where k.entry_id = gone.id;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger directory_entries_drop_terms after delete on directory_entries
      referencing old table as gone for each statement execute function directory_entries_drop_terms()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger directory_entries_drop_terms on directory_entries`.execute(db);
  await sql`drop function directory_entries_drop_terms()`.execute(db);
  await sql`drop table directory_anr_keys`.execute(db);
  await sql`drop table directory_match_values`.execute(db);
  await sql`alter table directory_entries drop column terms_version`.execute(db);
  await sql`alter table directory_entries drop column common_names`.execute(db);
}
