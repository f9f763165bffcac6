import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * The occurrence index (DESIGN §5): one row per instance with its
 * `tstzrange`, read through the GiST index on (calendar_id, during).
 * Floating and all-day instances are stored as their wall clock read as UTC
 * (with `floating`/`all_day` set); readers widen the range for them.
 */

export interface InstanceRowInput {
  recurrenceId: string;
  start: Date;
  end: Date;
  startLocal: string;
  endLocal: string;
  tzid: string | null;
  allDay: boolean;
  floating: boolean;
  busyType: string;
  transparent: boolean;
  status: string | null;
  classification: string;
  isOverride: boolean;
  summary: string | null;
  location: string | null;
}

const INSERT_BATCH = 5_000;

/**
 * Bulk insert as one statement per batch over column arrays (unnest): a
 * series can have thousands of instances, and one parameter per column keeps
 * that cheap to plan and send.
 */
export async function insertInstances(db: Db, calendarId: string, eventId: string, instances: readonly InstanceRowInput[]): Promise<void> {
  for (let i = 0; i < instances.length; i += INSERT_BATCH) {
    const batch = instances.slice(i, i + INSERT_BATCH);
    const col = <T>(f: (x: InstanceRowInput) => T): T[] => batch.map(f);
    await sql`
      insert into event_instances (event_id, calendar_id, recurrence_id, during, start_local, end_local, tzid, all_day, floating,
                                   busy_type, transparent, status, classification, is_override, summary, location)
      select ${eventId}::uuid, ${calendarId}::uuid, t.rid,
             -- a zero-length instance needs closed bounds, else the range is empty and overlaps nothing
             tstzrange(t.s, t.e, case when t.s = t.e then '[]' else '[)' end),
             t.sl, t.el, t.tz, t.ad, t.fl, t.bt, t.tr, t.st, t.cl, t.ov, t.su, t.lo
        from unnest(${col((x) => x.recurrenceId)}::text[], ${col((x) => x.start.toISOString())}::timestamptz[], ${col((x) => x.end.toISOString())}::timestamptz[],
                    ${col((x) => x.startLocal)}::text[], ${col((x) => x.endLocal)}::text[], ${col((x) => x.tzid)}::text[],
                    ${col((x) => x.allDay)}::boolean[], ${col((x) => x.floating)}::boolean[], ${col((x) => x.busyType)}::text[],
                    ${col((x) => x.transparent)}::boolean[], ${col((x) => x.status)}::text[], ${col((x) => x.classification)}::text[],
                    ${col((x) => x.isOverride)}::boolean[], ${col((x) => x.summary)}::text[], ${col((x) => x.location)}::text[])
          as t(rid, s, e, sl, el, tz, ad, fl, bt, tr, st, cl, ov, su, lo)
      on conflict (event_id, recurrence_id) do nothing
    `.execute(db);
  }
}

export async function deleteInstances(db: Db, eventId: string): Promise<void> {
  await db.deleteFrom('event_instances').where('event_id', '=', eventId).execute();
}

export interface IndexedInstance {
  event_id: string;
  calendar_id: string;
  uid: string;
  recurrence_id: string;
  start_at: Date;
  end_at: Date;
  start_local: string;
  end_local: string;
  tzid: string | null;
  all_day: boolean;
  floating: boolean;
  busy_type: string;
  transparent: boolean;
  status: string | null;
  classification: string;
  /** The object's most restrictive class: what privacy decisions use. */
  event_classification: string;
  is_override: boolean;
  summary: string | null;
  location: string | null;
}

/**
 * The first `limit` indexed instances overlapping [from, to), in answer order
 * (start, event id, recurrence id). One GiST probe on (calendar_id, during),
 * widened by `slackMs` because wall-clock rows (floating, all-day) are stored
 * as UTC and can sit that far from their real instant; those rows are placed
 * in `timeZone` by PostgreSQL, then every row is filtered precisely, sorted
 * and cut here, so only the page travels to the server.
 */
export async function queryIndexedInstances(
  db: Db,
  calendarIds: readonly string[],
  range: { from: Date; to: Date; timeZone: string; slackMs: number },
  limit: number,
): Promise<IndexedInstance[]> {
  const { from, to, timeZone } = range;
  const wideFrom = new Date(from.getTime() - range.slackMs);
  const wideTo = new Date(to.getTime() + range.slackMs);
  const result = await sql<IndexedInstance>`
    with r as (
      select i.event_id, i.calendar_id, e.uid, i.recurrence_id,
             case when i.floating or i.all_day then (lower(i.during) at time zone 'UTC') at time zone ${timeZone} else lower(i.during) end as start_at,
             case when i.floating or i.all_day then (upper(i.during) at time zone 'UTC') at time zone ${timeZone} else upper(i.during) end as end_at,
             i.start_local, i.end_local, i.tzid, i.all_day, i.floating, i.busy_type, i.transparent, i.status,
             i.classification, e.classification as event_classification, i.is_override, i.summary, i.location
        from event_instances i join calendar_events e on e.id = i.event_id
       where i.calendar_id = any(${[...calendarIds]}::uuid[])
         and i.during && tstzrange(${wideFrom}::timestamptz, ${wideTo}::timestamptz, '[)')
    )
    select * from r
     where (start_at < ${to}::timestamptz and end_at > ${from}::timestamptz)
        or (start_at = end_at and start_at >= ${from}::timestamptz and start_at < ${to}::timestamptz)
     order by start_at, event_id, recurrence_id collate "C"
     limit ${limit}
  `.execute(db);
  return result.rows;
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
