import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, session 4: approvers of resources in `approval` mode, and the
 * policy option that declines only a series' conflicting occurrences.
 *
 * - `resource_policies.approvers`: directory entry ids of the people who
 *   decide held requests (their inboxes get `approval` messages);
 * - `resource_policies.decline_occurrences`: a series conflicting in some
 *   occurrences is accepted with those occurrences declined (false: the
 *   whole series is declined, as before);
 * - inbox kind `approval`.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resource_policies add column approvers uuid[] not null default '{}'`.execute(db);
  await sql`alter table resource_policies add column decline_occurrences boolean not null default false`.execute(db);
  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply', 'counter', 'declinecounter', 'undeliverable', 'approval'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from inbox_messages where kind = 'approval'`.execute(db);
  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply', 'counter', 'declinecounter', 'undeliverable'))`.execute(db);
  await sql`alter table resource_policies drop column decline_occurrences`.execute(db);
  await sql`alter table resource_policies drop column approvers`.execute(db);
}
