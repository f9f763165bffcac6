import { sql, type Kysely } from 'kysely';

/**
 * A full GAL sync walks the visible entries of one domain in id order (not
 * through the change log, which pruning truncates); this index serves that
 * walk without touching other domains' rows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create index directory_entries_live_by_id on directory_entries (domain_id, id) where visible`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index directory_entries_live_by_id`.execute(db);
}
