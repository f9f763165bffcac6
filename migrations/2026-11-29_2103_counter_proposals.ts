import { sql, type Kysely } from 'kysely';

/**
 * COUNTER and DECLINECOUNTER (RFC 5546 §3.2.7, §3.2.8): an attendee proposes
 * another time; the organizer's inbox gets a `counter` message carrying it,
 * and a declined proposal reaches the attendee as `declinecounter`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply', 'counter', 'declinecounter'))`.execute(db);
  await sql`alter table inbox_messages add column proposed_start timestamptz`.execute(db);
  await sql`alter table inbox_messages add column proposed_end timestamptz`.execute(db);
  await sql`alter table inbox_messages add column comment text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from inbox_messages where kind in ('counter', 'declinecounter')`.execute(db);
  await sql`alter table inbox_messages drop column comment`.execute(db);
  await sql`alter table inbox_messages drop column proposed_end`.execute(db);
  await sql`alter table inbox_messages drop column proposed_start`.execute(db);
  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply'))`.execute(db);
}
