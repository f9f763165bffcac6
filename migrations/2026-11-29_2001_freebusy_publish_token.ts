import { sql, type Kysely } from 'kysely';

/**
 * Internet free/busy (issue 9 item 6): an account may publish its free/busy
 * at a secret URL. Only the SHA-256 of the token is stored (like resume
 * tokens), unique so a request finds its account by it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table account_availability add column publish_token_hash bytea unique`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table account_availability drop column publish_token_hash`.execute(db);
}
