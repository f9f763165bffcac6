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

const INSERT_BATCH = 500;

export async function insertInstances(db: Db, calendarId: string, eventId: string, instances: readonly InstanceRowInput[]): Promise<void> {
  for (let i = 0; i < instances.length; i += INSERT_BATCH) {
    const batch = instances.slice(i, i + INSERT_BATCH).map((inst) => ({
      event_id: eventId,
      calendar_id: calendarId,
      recurrence_id: inst.recurrenceId,
      // A zero-length instance needs closed bounds, else the range is empty and overlaps nothing.
      during: sql<string>`tstzrange(${inst.start}::timestamptz, ${inst.end}::timestamptz, ${inst.start.getTime() === inst.end.getTime() ? '[]' : '[)'})`,
      start_local: inst.startLocal,
      end_local: inst.endLocal,
      tzid: inst.tzid,
      all_day: inst.allDay,
      floating: inst.floating,
      busy_type: inst.busyType,
      transparent: inst.transparent,
      status: inst.status,
      classification: inst.classification,
      is_override: inst.isOverride,
      summary: inst.summary,
      location: inst.location,
    }));
    await db
      .insertInto('event_instances')
      .values(batch)
      .onConflict((oc) => oc.columns(['event_id', 'recurrence_id']).doNothing())
      .execute();
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
 * Indexed instances that may overlap [from, to) in the given calendars: one
 * GiST range probe widened by `slackMs` (wall-clock rows — floating, all-day —
 * can sit that far from their real instant). The caller places wall-clock rows
 * in the viewer's zone and filters every row precisely.
 */
export async function queryIndexedInstances(db: Db, calendarIds: readonly string[], from: Date, to: Date, slackMs: number, limit: number): Promise<IndexedInstance[]> {
  const wideFrom = new Date(from.getTime() - slackMs);
  const wideTo = new Date(to.getTime() + slackMs);
  const result = await sql<IndexedInstance>`
    select i.event_id, i.calendar_id, e.uid, i.recurrence_id, lower(i.during) as start_at, upper(i.during) as end_at,
           i.start_local, i.end_local, i.tzid, i.all_day, i.floating, i.busy_type, i.transparent, i.status,
           i.classification, e.classification as event_classification, i.is_override, i.summary, i.location
      from event_instances i join calendar_events e on e.id = i.event_id
     where i.calendar_id = any(${[...calendarIds]}::uuid[])
       and i.during && tstzrange(${wideFrom}::timestamptz, ${wideTo}::timestamptz, '[)')
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
