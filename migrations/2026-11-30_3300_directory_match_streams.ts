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
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`drop index directory_match_values_value`.execute(db);
  await sql`create index directory_match_values_value on directory_match_values (domain_id, attr, value text_pattern_ops) include (entry_id)`.execute(db);
  await sql`create index directory_match_values_stream on directory_match_values (domain_id, attr, entry_id) include (value)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index directory_match_values_stream`.execute(db);
  await sql`drop index directory_match_values_value`.execute(db);
  await sql`create index directory_match_values_value on directory_match_values (domain_id, attr, value text_pattern_ops)`.execute(db);
}
