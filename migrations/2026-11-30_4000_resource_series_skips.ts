import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, session 7: two series without an end that first meet beyond the
 * reach compared when the later one was booked (docs/decisions.md, "Two
 * endless series meeting late: a skip row and a job answering as the room").
 *
 * `resource_series_skips`: an instance of a booked series that was NOT booked
 * when a later request extended the series' rows (room-booking-reach.ts: an
 * earlier booking already holds that time; `ON CONFLICT DO NOTHING`). It is
 * written in the transaction that skips the instance and answered later by
 * the job (series-skip-answers.ts) as the room, in its own transaction: the
 * room DECLINED for that occurrence in every copy, a `reply` to the
 * organizer; the row goes in that same transaction. The wall-clock times are
 * kept because the occurrence usually lies past the occurrence index, where
 * its override is made from them. Claimed with a lease (`lease_until`) so
 * nodes share the work; `attempts`/`next_attempt_at` retry a failed answer.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('resource_series_skips')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    // The resource's copy of the series that did not get the instance (its bookings released: the row goes too).
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('calendar_events.id').onDelete('cascade'))
    .addColumn('resource_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addColumn('recurrence_id', 'text', (c) => c.notNull())
    .addColumn('during', sql`tstzrange`, (c) => c.notNull())
    .addColumn('start_local', 'text', (c) => c.notNull())
    .addColumn('end_local', 'text', (c) => c.notNull())
    .addColumn('all_day', 'boolean', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('lease_until', 'timestamptz')
    .addColumn('leased_by', 'text')
    .addColumn('last_error', 'text')
    .addUniqueConstraint('resource_series_skips_occurrence', ['event_id', 'recurrence_id'])
    .execute();
  await sql`create index resource_series_skips_due on resource_series_skips (next_attempt_at)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('resource_series_skips').execute();
}
