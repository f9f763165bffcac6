import { sql, type Kysely } from 'kysely';

/**
 * Per-domain switch for sharing calendars across domains on one server
 * (issue 7 §9). Off by default: a calendar may be shared with an account of
 * another domain only when both domains have it on.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table domains add column cross_domain_sharing boolean not null default false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table domains drop column cross_domain_sharing`.execute(db);
}
