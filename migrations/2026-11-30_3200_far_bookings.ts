import { sql, type Kysely } from 'kysely';

/**
 * Issue 10, session 5: resource bookings beyond the occurrence-index horizon.
 *
 * - `resource_policies.booking_window_days` may reach 3650 days (it stopped at
 *   the index horizon, 730, before);
 * - `resource_policies.unbounded_series`: a series without an end (no COUNT or
 *   UNTIL) is booked, every occurrence, instead of declined (`window`);
 * - `resource_series_bookings`: a booked series whose rows in
 *   resource_bookings stop at `booked_until` (instances starting before it
 *   are booked). A later request reaching further extends every such series
 *   of the resource first (room-booking-reach.ts), so the exclusion
 *   constraint compares them over every range anyone has booked.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table resource_policies drop constraint resource_policies_booking_window_days_check`.execute(db);
  await sql`alter table resource_policies add constraint resource_policies_booking_window_days_check check (booking_window_days between 1 and 3650)`.execute(db);
  await sql`alter table resource_policies add column unbounded_series boolean not null default false`.execute(db);
  await db.schema
    .createTable('resource_series_bookings')
    .addColumn('event_id', 'uuid', (c) => c.primaryKey().references('calendar_events.id').onDelete('cascade'))
    .addColumn('resource_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addColumn('booked_until', 'timestamptz', (c) => c.notNull())
    // Order of extension: the series booked first keeps a slot two series reach only far ahead.
    .addColumn('booked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`clock_timestamp()`))
    .execute();
  await sql`create index resource_series_bookings_resource on resource_series_bookings (resource_id, booked_until)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('resource_series_bookings').execute();
  await sql`alter table resource_policies drop column unbounded_series`.execute(db);
  await sql`update resource_policies set booking_window_days = 730 where booking_window_days > 730`.execute(db);
  await sql`alter table resource_policies drop constraint resource_policies_booking_window_days_check`.execute(db);
  await sql`alter table resource_policies add constraint resource_policies_booking_window_days_check check (booking_window_days between 1 and 730)`.execute(db);
}
