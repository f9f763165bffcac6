import { sql, type Kysely } from 'kysely';

/**
 * Implicit scheduling (DESIGN §6a):
 * - inbox_messages: each account's scheduling inbox, its own sync scope
 *   `inbox:<accountId>` (rows stamped with that scope's modseq, tombstones
 *   for dismissed messages, like every other scope).
 * - scheduled_copies: which event is an attendee's (or a resource's) copy of
 *   which organizer event, so an answer finds the organizer's copy and an
 *   organizer's change finds every copy without parsing.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('inbox_messages')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('request', 'update', 'cancel', 'reply')`))
    .addColumn('uid', 'text', (c) => c.notNull())
    // The event the message is about, as the recipient holds it (their copy, or the organizer's own event).
    .addColumn('calendar_id', 'uuid')
    .addColumn('event_id', 'uuid')
    .addColumn('sender', 'text', (c) => c.notNull())
    .addColumn('sequence', 'integer', (c) => c.notNull())
    .addColumn('partstat', 'text')
    .addColumn('recurrence_id', 'text')
    .addColumn('summary', 'text')
    .addColumn('first_start', 'timestamptz')
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('created_modseq', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('inbox_messages_changes').on('inbox_messages').columns(['account_id', 'modseq', 'id']).execute();
  await sql`create index inbox_messages_live on inbox_messages (account_id, id) where not deleted`.execute(db);
  await sql`create index inbox_messages_tombstones on inbox_messages (deleted_at) where deleted`.execute(db);

  await db.schema
    .createTable('scheduled_copies')
    .addColumn('event_id', 'uuid', (c) => c.primaryKey().references('calendar_events.id').onDelete('cascade'))
    .addColumn('organizer_event_id', 'uuid', (c) => c.notNull().references('calendar_events.id').onDelete('cascade'))
    .addColumn('organizer_calendar_id', 'uuid', (c) => c.notNull())
    // The ATTENDEE address (lower case, without mailto:) this copy belongs to.
    .addColumn('attendee', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('scheduled_copies_organizer').on('scheduled_copies').column('organizer_event_id').execute();

  await sql`insert into sync_scopes (id) select 'inbox:' || id from accounts on conflict (id) do nothing`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('scheduled_copies').execute();
  await db.schema.dropTable('inbox_messages').execute();
  await sql`delete from sync_scopes where id like 'inbox:%'`.execute(db);
}
