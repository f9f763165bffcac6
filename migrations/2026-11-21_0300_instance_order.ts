import { sql, type Kysely } from 'kysely';

/**
 * Time-range queries read the occurrence index in start order and stop after
 * the page, instead of taking every instance the GiST probe finds and sorting
 * them (docs/decisions.md, occurrence index).
 *
 * - `during_start` is lower(during), stored, so the btree indexes below can
 *   answer index-only: skipping `position` rows costs an index walk, not a
 *   heap fetch per row (an expression index on lower(during) cannot, the
 *   planner wants the `during` column itself).
 * - Timed instances sort by their stored start (the answer order: start,
 *   event id, recurrence id). Floating and all-day ones are stored as UTC
 *   wall clock and are placed in the viewer's zone at query time, so they
 *   have their own index, read in stored-start order within a slack.
 * - Events whose index ends before a query's `to` are found per calendar
 *   (calendar_events_horizon serves the horizon job across calendars).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table event_instances add column during_start timestamptz generated always as (lower(during)) stored`.execute(db);
  await sql`
    create index event_instances_timed_start on event_instances (calendar_id, during_start, event_id, recurrence_id collate "C")
     where not floating and not all_day`.execute(db);
  await sql`create index event_instances_wall_start on event_instances (calendar_id, during_start) where floating or all_day`.execute(db);
  await sql`
    create index calendar_events_index_end on calendar_events (calendar_id, expanded_until)
     where expanded_until is not null and not deleted`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index calendar_events_index_end`.execute(db);
  await sql`drop index event_instances_wall_start`.execute(db);
  await sql`drop index event_instances_timed_start`.execute(db);
  await sql`alter table event_instances drop column during_start`.execute(db);
}
