import { sql, type Kysely } from 'kysely';

/**
 * iMIP (RFC 6047, issue 11):
 * - imip_outbox: the durable outbox. A row is written in the transaction of
 *   the scheduling change it mails (so a rolled-back change mails nothing and
 *   a committed one is never forgotten); the sender (server/imip/outbox-sender.ts)
 *   claims due rows with a lease (`lease_until`) and `for update skip locked`,
 *   so two nodes never send one row at once and a node killed mid-send lets
 *   another take it over only after the lease ran out.
 * - inbox_messages gains the kind 'undeliverable': a message that died in the
 *   outbox is reported to the person who sent it (`comment` says why).
 * - calendar_events gets an index on the UID of live events: an incoming
 *   reply names only the UID.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('imip_outbox')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // The sender's domain (DESIGN §8: tables carry the domain) and account (the inbox a dead letter reaches).
    .addColumn('domain_id', 'uuid', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.references('accounts.id').onDelete('set null'))
    .addColumn('method', 'text', (c) => c.notNull().check(sql`method in ('REQUEST', 'CANCEL', 'REPLY', 'COUNTER', 'DECLINECOUNTER')`))
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull())
    // The event as the sender holds it (for the dead letter's inbox message).
    .addColumn('calendar_id', 'uuid')
    .addColumn('event_id', 'uuid')
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('sender_name', 'text')
    .addColumn('recipient', 'text', (c) => c.notNull())
    .addColumn('summary', 'text')
    .addColumn('first_start', 'timestamptz')
    // The zone the readable summary shows times in (the sender's working-hours zone).
    .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('UTC'))
    // The iTIP object exactly as mailed (METHOD set, only what the recipient may see).
    .addColumn('ics', 'text', (c) => c.notNull())
    .addColumn('message_id', 'text', (c) => c.notNull().unique())
    .addColumn('state', 'text', (c) => c.notNull().defaultTo('pending').check(sql`state in ('pending', 'sent', 'dead')`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('leased_by', 'text')
    .addColumn('last_error', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // Past this, a failed attempt makes the row dead (DMCI_OUTBOX_DEAD_AFTER_MS after queueing or a retry by an admin).
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('sent_at', 'timestamptz')
    .addColumn('dead_at', 'timestamptz')
    .execute();
  await sql`create index imip_outbox_due on imip_outbox (next_attempt_at) where state = 'pending'`.execute(db);
  await sql`create index imip_outbox_state on imip_outbox (state, created_at)`.execute(db);

  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply', 'counter', 'declinecounter', 'undeliverable'))`.execute(db);
  // iMIP in finds the organizer's event by UID across calendars (imip-in.ts findTarget): without this, a scan per message.
  await sql`create index calendar_events_live_uid on calendar_events (uid) where not deleted`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index calendar_events_live_uid`.execute(db);
  await sql`delete from inbox_messages where kind = 'undeliverable'`.execute(db);
  await sql`alter table inbox_messages drop constraint inbox_messages_kind_check`.execute(db);
  await sql`alter table inbox_messages add constraint inbox_messages_kind_check check (kind in ('request', 'update', 'cancel', 'reply', 'counter', 'declinecounter'))`.execute(db);
  await db.schema.dropTable('imip_outbox').execute();
}
