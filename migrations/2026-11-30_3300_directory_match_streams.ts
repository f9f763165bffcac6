import { sql, type Kysely } from 'kysely';

/**
 * Issue 13, LDAP search speed. LDAP answers now come in entry-id order
 * (as slapd's come in its entry-id order), so a filter's matches can be
 * read as id-ordered streams and the search stops at the size limit:
 *
 * - directory_match_values_value gains `include (entry_id)`: an equality or
 *   initial-substring test is an index-only range scan (no heap visit per
 *   matching value), whose ids are then sorted.
 * - directory_match_values_stream, `(domain_id, attr, entry_id) include
 *   (value)`: one attribute's values in entry-id order, so a test no index
 *   range serves (`*ab*`, `*ab`) is an index-only walk that stops after
 *   the page's matches, and an ANDed test is one index-only probe per
 *   candidate entry (it was a probe of every term row of the entry).
 * - The lower(column) text_pattern_ops indexes of the first directory
 *   migration (display name, given name, surname, email, department, and
 *   directory_aliases.alias) served prefix searches that the term tables
 *   answer since 2300; nothing queries them any more, and every entry
 *   write maintained six btrees for nothing (an import most of all).
 */
const PREFIX_COLUMNS = ['display_name', 'given_name', 'surname', 'email', 'department'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const column of PREFIX_COLUMNS) await sql`drop index ${sql.raw(`directory_entries_prefix_${column}`)}`.execute(db);
  await sql`drop index directory_aliases_prefix`.execute(db);
  await sql`drop index directory_match_values_value`.execute(db);
  await sql`create index directory_match_values_value on directory_match_values (domain_id, attr, value text_pattern_ops) include (entry_id)`.execute(db);
  await sql`create index directory_match_values_stream on directory_match_values (domain_id, attr, entry_id) include (value)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index directory_match_values_stream`.execute(db);
  await sql`drop index directory_match_values_value`.execute(db);
  await sql`create index directory_match_values_value on directory_match_values (domain_id, attr, value text_pattern_ops)`.execute(db);
  await sql`create index directory_aliases_prefix on directory_aliases (domain_id, alias text_pattern_ops)`.execute(db);
  for (const column of PREFIX_COLUMNS) {
    await sql`create index ${sql.raw(`directory_entries_prefix_${column}`)} on directory_entries (domain_id, lower(${sql.ref(column)}) text_pattern_ops)`.execute(db);
  }
}
