import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, session 4: scheduled copies count toward their attendee's
 * storage quota, and organizers have an invitation budget.
 *
 * - `invitation_budgets`: a token bucket per organizer account (copies it may
 *   still write now; refilled at DMCI_INVITATION_COPIES_PER_MINUTE), kept in
 *   the database so every node of a cluster draws on the same bucket.
 * - `account_storage.used_bytes` is recounted so that the copies written
 *   before copies were charged are counted too.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('invitation_budgets')
    .addColumn('account_id', 'uuid', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('tokens', 'double precision', (c) => c.notNull())
    .addColumn('refreshed_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`
    insert into account_storage (account_id, used_bytes)
    select c.account_id, coalesce(sum(octet_length(e.ics)), 0) from calendars c join calendar_events e on e.calendar_id = c.id
     where not e.deleted and c.account_id is not null group by c.account_id
    on conflict (account_id) do update set used_bytes = excluded.used_bytes`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('invitation_budgets').execute();
}
