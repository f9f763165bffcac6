import { sql, type RawBuilder, type Selectable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { EventInstanceTable } from './event.table.ts';
import type { Instance } from './ical/index.ts';

/**
 * The occurrence index (DESIGN §5): one row per instance with its
 * `tstzrange`, read through the GiST index on (calendar_id, during) for
 * overlap probes and through btrees on its stored start (`during_start`) for
 * time-range pages. Floating and all-day instances are stored as their wall
 * clock read as UTC (with `floating`/`all_day` set); readers widen the range
 * for them.
 */

/** What the index stores of an expanded instance. */
export type InstanceRowInput = Pick<
  Instance,
  'recurrenceId' | 'start' | 'end' | 'startLocal' | 'endLocal' | 'tzid' | 'allDay' | 'floating' | 'busyType' | 'transparent' | 'status' | 'classification' | 'isOverride' | 'summary' | 'location'
>;

/**
 * Rows per INSERT. Building one statement's parameters (17 arrays, serialised
 * by pg in JavaScript, then the NUL guard) runs on the event loop: ~4 ms per
 * 1,000 rows on our 2-core machines, so a 5,000-occurrence series as one
 * statement blocked every other session for ~17 ms (profile under `npm run
 * bench -- hostile`). In batches of 500 (~2 ms each) the loop is free between
 * them; a big series costs a few more round trips.
 */
const INSERT_BATCH = 500;

/**
 * Bulk insert as one statement per batch over column arrays (unnest): a
 * series can have thousands of instances, and one parameter per column keeps
 * that cheap to plan and send.
 */
export async function insertInstances(db: Db, calendarId: string, eventId: string, instances: readonly InstanceRowInput[]): Promise<void> {
  await insertInstancesOfMany(db, instances.map((instance) => ({ ...instance, eventId, calendarId })));
}

/** Index rows of several events (the scheduler's copies) in as few statements as `insertInstances` takes for one. */
export async function insertInstancesOfMany(db: Db, instances: ReadonlyArray<InstanceRowInput & { eventId: string; calendarId: string }>): Promise<void> {
  for (let i = 0; i < instances.length; i += INSERT_BATCH) {
    const batch = instances.slice(i, i + INSERT_BATCH);
    const col = <T>(f: (x: InstanceRowInput & { eventId: string; calendarId: string }) => T): T[] => batch.map(f);
    await sql`
      insert into event_instances (event_id, calendar_id, recurrence_id, during, start_local, end_local, tzid, all_day, floating,
                                   busy_type, transparent, status, classification, is_override, summary, location)
      select t.ev, t.ca, t.rid,
             -- a zero-length instance needs closed bounds, else the range is empty and overlaps nothing
             tstzrange(t.s, t.e, case when t.s = t.e then '[]' else '[)' end),
             t.sl, t.el, t.tz, t.ad, t.fl, t.bt, t.tr, t.st, t.cl, t.ov, t.su, t.lo
        from unnest(${col((x) => x.eventId)}::uuid[], ${col((x) => x.calendarId)}::uuid[],
                    ${col((x) => x.recurrenceId)}::text[], ${col((x) => x.start.toISOString())}::timestamptz[], ${col((x) => x.end.toISOString())}::timestamptz[],
                    ${col((x) => x.startLocal)}::text[], ${col((x) => x.endLocal)}::text[], ${col((x) => x.tzid)}::text[],
                    ${col((x) => x.allDay)}::boolean[], ${col((x) => x.floating)}::boolean[], ${col((x) => x.busyType)}::text[],
                    ${col((x) => x.transparent)}::boolean[], ${col((x) => x.status)}::text[], ${col((x) => x.classification)}::text[],
                    ${col((x) => x.isOverride)}::boolean[], ${col((x) => x.summary)}::text[], ${col((x) => x.location)}::text[])
          as t(ev, ca, rid, s, e, sl, el, tz, ad, fl, bt, tr, st, cl, ov, su, lo)
      on conflict (event_id, recurrence_id) do nothing
    `.execute(db);
  }
}

export async function deleteInstances(db: Db, eventId: string): Promise<void> {
  await deleteInstancesOfMany(db, [eventId]);
}

export async function deleteInstancesOfMany(db: Db, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db.deleteFrom('event_instances').where('event_id', 'in', [...eventIds]).execute();
}

/** An index row as a query reads it: placed in the viewer's zone (start_at, end_at) and joined to its event. */
export type IndexedInstance = Omit<Selectable<EventInstanceTable>, 'during' | 'during_start' | 'busy_packed'> & {
  uid: string;
  start_at: Date;
  end_at: Date;
  /** The object's most restrictive class: what privacy decisions use. */
  event_classification: string;
};

export interface IndexedSlice {
  /** The indexed instances at answer positions [skip, first), in answer order. */
  rows: IndexedInstance[];
  /** How many indexed instances overlap the range, counted up to `first`. */
  counted: number;
}

/**
 * The indexed instances at positions [skip, first) of the answer order
 * (start, event id, recurrence id) among those overlapping [from, to), and
 * how many there are up to `first`. Cost follows `first`, not the number of
 * instances in the range: no step reads more than `first` rows plus what a
 * slack's worth of time holds.
 *
 * - Timed instances are read per calendar from a btree on (calendar_id,
 *   during_start, event_id, recurrence_id): those starting in [from, to) are
 *   already in answer order, an index-only range scan LIMITed to `first`;
 *   PostgreSQL merges the calendars (Merge Append). Those starting before
 *   `from` but still running are the few rows of the GiST probe for the
 *   instant `from`.
 * - Floating and all-day instances are stored as UTC wall clock, `slack` at
 *   most from where they land in `timeZone`, so their stored order is only
 *   nearly the answer order. From their own index: the first `first` of them
 *   that overlap the range, in stored order, end at some stored start s; any
 *   later than s + 2·slack lands after all of those, and any later than
 *   (the `first`-th timed start) + slack lands after `first` timed ones. The
 *   rows up to the smaller bound (plus the GiST probe for `from − slack`) are
 *   placed, sorted and cut exactly.
 * - Only the rows of the slice are joined to their details and calendar_events.
 */
export async function queryIndexedInstances(
  db: Db,
  calendarIds: readonly string[],
  range: { from: Date; to: Date; timeZone: string; slackMs: number },
  slice: { skip: number; first: number },
): Promise<IndexedSlice> {
  const { from, to, timeZone } = range;
  const ids = [...new Set(calendarIds)];
  if (ids.length === 0) return { rows: [], counted: 0 };
  const first = slice.first;
  const slack = sql`(${range.slackMs} * interval '1 millisecond')`;
  const wideFrom = new Date(from.getTime() - range.slackMs);
  const wideTo = new Date(to.getTime() + range.slackMs);
  // Where a stored wall-clock value lands in the viewer's zone.
  const placed = (stored: RawBuilder<unknown>) => sql`((${stored} at time zone 'UTC') at time zone ${timeZone})`;
  const overlapping = (start: RawBuilder<unknown>, end: RawBuilder<unknown>) =>
    sql`((${start} < ${to}::timestamptz and ${end} > ${from}::timestamptz) or (${start} = ${end} and ${start} >= ${from}::timestamptz and ${start} < ${to}::timestamptz))`;
  const timedStartingIn = ids.map(
    (id) => sql`(
      select during_start as t, event_id, recurrence_id, recurrence_id collate "C" as rid from event_instances
       where calendar_id = ${id}::uuid and not floating and not all_day and during_start >= ${from}::timestamptz and during_start < ${to}::timestamptz
       order by during_start, event_id, recurrence_id collate "C" limit ${first})`,
  );
  const wallInStoredOrder = ids.map(
    (id) => sql`(
      select during_start as s from event_instances
       where calendar_id = ${id}::uuid and (floating or all_day)
         and during_start >= ${wideFrom}::timestamptz and during_start < ${wideTo}::timestamptz and during_start <= (select wall_until from timed_bound)
         and ${overlapping(placed(sql`during_start`), placed(sql`upper(during)`))}
       order by during_start limit ${first})`,
  );
  const result = await sql<IndexedInstance & { counted: string; rid: string }>`
    with timed as materialized (
      select * from (
        ${sql.join(timedStartingIn, sql` union all `)}
        union all
        select i.during_start, i.event_id, i.recurrence_id, i.recurrence_id collate "C"
          from unnest(${ids}::uuid[]) as c(id)
          cross join lateral (
            select during_start, event_id, recurrence_id from event_instances
             where calendar_id = c.id and not floating and not all_day and during @> ${from}::timestamptz and lower(during) < ${from}::timestamptz
            offset 0
          ) i
      ) x
      order by t, event_id, rid limit ${first}
    ),
    timed_bound as (
      select case when count(*) = ${first} then max(t) + ${slack} else 'infinity'::timestamptz end as wall_until from timed
    ),
    wall_bound as (
      select case when count(*) = ${first} then max(s) + 2 * ${slack} else 'infinity'::timestamptz end as wall_until
        from (select s from (${sql.join(wallInStoredOrder, sql` union all `)}) w order by s limit ${first}) f
    ),
    wall as (
      select t, event_id, recurrence_id, rid from (
        select ${placed(sql`during_start`)} as t, ${placed(sql`upper(during)`)} as e, event_id, recurrence_id, recurrence_id collate "C" as rid
          from event_instances
         where calendar_id = any(${ids}::uuid[]) and (floating or all_day)
           and during_start >= ${wideFrom}::timestamptz and during_start < ${wideTo}::timestamptz
           and during_start <= least((select wall_until from timed_bound), (select wall_until from wall_bound))
        union all
        select ${placed(sql`i.during_start`)}, ${placed(sql`i.upper_during`)}, i.event_id, i.recurrence_id, i.recurrence_id collate "C"
          from unnest(${ids}::uuid[]) as c(id)
          cross join lateral (
            select during_start, upper(during) as upper_during, event_id, recurrence_id from event_instances
             where calendar_id = c.id and (floating or all_day) and during @> ${wideFrom}::timestamptz and lower(during) < ${wideFrom}::timestamptz
            offset 0
          ) i
      ) w
      where ${overlapping(sql.ref('t'), sql.ref('e'))}
      order by t, event_id, rid limit ${first}
    ),
    ranked as materialized (
      select * from (select * from timed union all select * from wall) u order by t, event_id, rid limit ${first}
    ),
    page as (
      select t, event_id, recurrence_id, rid from ranked order by t, event_id, rid offset ${slice.skip}
    )
    -- One row even for an empty slice, so the count always comes back.
    select n.counted, d.* from (select count(*) as counted from ranked) n
    left join lateral (
      select p.event_id, i.calendar_id, e.uid, p.recurrence_id, p.t as start_at,
             case when i.floating or i.all_day then (upper(i.during) at time zone 'UTC') at time zone ${timeZone} else upper(i.during) end as end_at,
             i.start_local, i.end_local, i.tzid, i.all_day, i.floating, i.busy_type, i.transparent, i.status,
             i.classification, e.classification as event_classification, i.is_override, i.summary, i.location, p.rid
        from page p
        join event_instances i on i.event_id = p.event_id and i.recurrence_id = p.recurrence_id
        join calendar_events e on e.id = p.event_id
    ) d on true
     order by d.start_at, d.event_id, d.rid
  `.execute(db);
  const counted = Number(result.rows[0]?.counted ?? 0);
  const rows = result.rows.filter((r) => r.event_id !== null).map(({ counted: _counted, rid: _rid, ...row }) => row);
  return { rows, counted };
}

/** Ids of events (optionally among `eventIds`) with an indexed instance overlapping [from, to). */
export async function eventIdsTouching(db: Db, calendarId: string, from: Date, to: Date, eventIds?: readonly string[]): Promise<Set<string>> {
  if (eventIds && eventIds.length === 0) return new Set();
  const restrict = eventIds ? sql`and event_id = any(${[...eventIds]}::uuid[])` : sql``;
  const result = await sql<{ event_id: string }>`
    select distinct event_id from event_instances
     where calendar_id = ${calendarId}::uuid and during && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)') ${restrict}
  `.execute(db);
  return new Set(result.rows.map((r) => r.event_id));
}
