import { sql, type Kysely } from 'kysely';

/**
 * Per-domain switch for the calendar attendant (issue 11, docs/operations.md
 * "Mail (iMIP)"): an iMIP REQUEST or CANCEL from an organizer outside the
 * server, for an account of this domain, writes that account's copy and an
 * inbox message. Off by default: the connector sees the invitation in the
 * mailbox too, and only one of the two may act on it.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table domains add column calendar_attendant boolean not null default false`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table domains drop column calendar_attendant`.execute(db);
}
