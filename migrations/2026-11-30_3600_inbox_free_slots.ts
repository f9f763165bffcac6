import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, session 6: a room that declines a request for a conflict sends
 * the organizer a `reply` (inbox) naming when it is free for as long — the
 * next slot from the conflicting occurrence on (`free_next_*`) and the latest
 * one before it (`free_earlier_*`), as the set result's outcome does.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table inbox_messages
    add column free_next_start timestamptz, add column free_next_end timestamptz,
    add column free_earlier_start timestamptz, add column free_earlier_end timestamptz`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table inbox_messages drop column free_next_start, drop column free_next_end, drop column free_earlier_start, drop column free_earlier_end`.execute(db);
}
