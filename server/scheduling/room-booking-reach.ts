import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { forgetSkips, recordSkips } from './series-skips.repository.ts';

/**
 * Bookings beyond the occurrence-index horizon (docs/decisions.md, "Room
 * bookings past the index horizon"). resource_bookings holds one row per
 * booked instance, and the exclusion constraint on it is the last word on
 * double booking — but a series without an end has no last row, and the
 * occurrence index (two years ahead) does not hold a far series' later
 * instances either. So rows are made on demand, under the resource
 * calendar's scope lock every booking decision holds:
 *
 * - a request's own instances past its index are expanded (worker pool) up
 *   to its last end, or, for a series without an end, through the policy's
 *   booking window and up to the furthest point anyone booked the resource;
 * - before its conflicts are checked, every booked series of the resource
 *   whose rows stop short of the request's reach (`resource_series_bookings`)
 *   gets its rows made up to that reach.
 *
 * Then both sides of any overlap are rows, and the constraint compares them.
 * Two series without an end are so compared through the booking window (as
 * it was when the later one was booked); should they meet only further out,
 * they meet when a later request extends both: the series booked first keeps
 * the slot (its rows are made first; the later one's instance is skipped).
 * The skipped instance is recorded (resource_series_skips) in the same
 * transaction, and answered later as the resource — DECLINED for that
 * occurrence in every copy — by series-skip-answers.ts.
 */

export interface BookedInstance {
  recurrenceId: string;
  start: Date;
  end: Date;
  /** Its wall-clock times on the series' own clock (as the index holds them): an occurrence declined alone past the index is made an override from them. */
  local?: { startLocal: string; endLocal: string; allDay: boolean };
}

/** An instance from the expansion: its wall-clock times are always known. */
export type ExpandedInstance = BookedInstance & { local: NonNullable<BookedInstance['local']> };

/**
 * Instances of a stored text STARTING in [from, to) that book time (not
 * cancelled, not transparent), expanded off the event loop.
 */
export type ExpandBookable = (ics: string, from: Date, to: Date) => Promise<ExpandedInstance[]>;

/** The furthest end of any booking of the resource (rows or a series' reach), other than one copy's; null: nothing booked. */
export async function furthestBooked(db: Db, resourceId: string, exceptEventId: string | null): Promise<Date | null> {
  const result = await sql<{ furthest: Date | null }>`
    select greatest(
      (select max(upper(during)) from resource_bookings where resource_id = ${resourceId} and event_id is distinct from ${exceptEventId}::uuid),
      (select max(booked_until) from resource_series_bookings where resource_id = ${resourceId} and event_id is distinct from ${exceptEventId}::uuid)
    ) as furthest`.execute(db);
  const furthest = result.rows[0]?.furthest;
  return furthest ? new Date(furthest) : null;
}

/**
 * A booking's instances past its index (`indexUntil`: where the index stops;
 * null = it holds them all): up to the series' end; for a series without
 * one, through the policy's booking window and as far as anyone booked the
 * resource — which is then how far its rows reach (`seriesUntil`; null for a
 * series with an end).
 */
export async function instancesPastIndex(
  db: Db,
  expand: ExpandBookable,
  req: { resourceId: string; copyEventId: string | null; ics: string; indexUntil: Date | null; lastEnd: Date | null; windowEnd: Date },
): Promise<{ far: ExpandedInstance[]; seriesUntil: Date | null }> {
  if (req.indexUntil === null) return { far: [], seriesUntil: null };
  const reach = req.lastEnd ?? latest([req.indexUntil, req.windowEnd, await furthestBooked(db, req.resourceId, req.copyEventId)]);
  return { far: reach > req.indexUntil ? await expand(req.ics, req.indexUntil, reach) : [], seriesUntil: req.lastEnd === null ? reach : null };
}

function latest(dates: ReadonlyArray<Date | null>): Date {
  return new Date(Math.max(...dates.flatMap((d) => (d ? [d.getTime()] : []))));
}

/**
 * Makes the rows of every booked series of the resource up to `to` (other
 * than `exceptEventId`'s), oldest booking first. An instance overlapping a
 * row already there is skipped (ON CONFLICT DO NOTHING works with exclusion
 * constraints): the earlier booking keeps the room, and the skip is recorded
 * for the resource's answer (series-skips.repository.ts).
 */
export async function extendBookedSeries(trx: Db, expand: ExpandBookable, resourceId: string, to: Date, exceptEventId: string | null): Promise<void> {
  const due = await trx
    .selectFrom('resource_series_bookings as s')
    .innerJoin('calendar_events as e', 'e.id', 's.event_id')
    .select(['s.event_id', 's.booked_until', 'e.ics'])
    .where('s.resource_id', '=', resourceId)
    .where('s.booked_until', '<', to)
    .where('e.deleted', '=', false)
    .where(sql<boolean>`s.event_id is distinct from ${exceptEventId}::uuid`)
    .orderBy('s.booked_at')
    .execute();
  for (const series of due) {
    const rows = await expand(series.ics!, new Date(series.booked_until), to);
    if (rows.length > 0) {
      const made = await trx
        .insertInto('resource_bookings')
        .values(rows.map((r) => ({ resource_id: resourceId, event_id: series.event_id, recurrence_id: r.recurrenceId, during: `[${r.start.toISOString()},${r.end.toISOString()})` })))
        .onConflict((oc) => oc.doNothing())
        .returning('recurrence_id')
        .execute();
      const booked = new Set(made.map((m) => m.recurrence_id));
      await recordSkips(trx, resourceId, series.event_id, rows.filter((r) => !booked.has(r.recurrenceId)));
    }
    await trx.updateTable('resource_series_bookings').set({ booked_until: to }).where('event_id', '=', series.event_id).execute();
  }
}

/** Records that a copy's series is booked up to `until` (its rows stop there). */
export async function recordBookedSeries(trx: Db, resourceId: string, copyEventId: string, until: Date): Promise<void> {
  await trx
    .insertInto('resource_series_bookings')
    .values({ event_id: copyEventId, resource_id: resourceId, booked_until: until })
    .onConflict((oc) => oc.column('event_id').doUpdateSet({ booked_until: until }))
    .execute();
}

/** The copies' bookings are released: how far their series reached, and what they skipped, go with them. */
export async function forgetBookedSeries(trx: Db, copyEventIds: readonly string[]): Promise<void> {
  if (copyEventIds.length === 0) return;
  await trx.deleteFrom('resource_series_bookings').where('event_id', 'in', [...copyEventIds]).execute();
  await forgetSkips(trx, copyEventIds);
}
