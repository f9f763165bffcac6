import { sql, type Kysely } from 'kysely';

/**
 * Per-account storage quota (issue 7): the bytes of iCalendar text of the
 * live events in the calendars an account owns, kept as a counter that every
 * event write changes inside its own transaction, and the account's quota
 * (null = the server default, DMCI_STORAGE_QUOTA_BYTES). Filled from the
 * events already stored.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('account_storage')
    .addColumn('account_id', 'uuid', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('used_bytes', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`used_bytes >= 0`))
    .addColumn('quota_bytes', 'bigint', (c) => c.check(sql`quota_bytes >= 0`))
    .execute();
  await sql`
    insert into account_storage (account_id, used_bytes)
    select c.account_id, sum(octet_length(e.ics)) from calendars c join calendar_events e on e.calendar_id = c.id
     where not e.deleted group by c.account_id`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('account_storage').execute();
}
