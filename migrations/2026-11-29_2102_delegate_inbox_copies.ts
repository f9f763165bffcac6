import { sql, type Kysely } from 'kysely';

/**
 * Delegates and scheduling (issue 10 item 3): a delegate may choose to get a
 * copy of each scheduling message of a calendar they are delegate for in
 * their own inbox (delegate_inbox_copies, the delegate's own choice; it only
 * takes effect while the grant still makes them a delegate), and such a
 * message names whose it is (inbox_messages.on_behalf_of).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('delegate_inbox_copies')
    .addColumn('calendar_id', 'uuid', (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('delegate_inbox_copies_pk', ['calendar_id', 'account_id'])
    .execute();
  await sql`alter table inbox_messages add column on_behalf_of text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table inbox_messages drop column on_behalf_of`.execute(db);
  await db.schema.dropTable('delegate_inbox_copies').execute();
}
