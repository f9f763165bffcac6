import type { Db } from '../db/database.ts';
import { expandInstances, type IcalLimits, type Instance, type ParsedCalendarObject } from './ical/index.ts';
import { longestInstanceMs, type IndexBounds, type PlannedIndex } from './index-plan.ts';
import { insertEvent, type EventColumns } from './event.repository.ts';
import type { CalendarEventRow } from './event.table.ts';
import { deleteInstances, insertInstances } from './instance.repository.ts';

/**
 * Turning a parsed event into occurrence-index rows (DESIGN §5).
 *
 * The index holds the instances that START in [expanded_from,
 * expanded_until): from `indexPastDays` (one year) back — older history is
 * rarely asked for, and a ten-year-old daily series would otherwise store
 * thousands of dead rows — to a horizon (two years ahead by default), which
 * the horizon job pushes forward. Readers expand whatever lies outside on the
 * fly (unindexedInstances). Planning (index-plan.ts) expands in windows of
 * `expansionChunkDays` and stops storing at `maxIndexedInstancesPerEvent`
 * rows (the index then ends where it stopped).
 */

/** Instances OVERLAPPING [from, to) (non-empty overlap, or a zero-length instance inside). */
export function instancesOverlapping(obj: ParsedCalendarObject, from: Date, to: Date, limits: IcalLimits): Instance[] {
  const pad = longestInstanceMs(obj);
  return expandInstances(obj, new Date(from.getTime() - pad), to, limits).filter((i) => overlaps(i.start, i.end, from, to));
}

export function overlaps(start: Date, end: Date, from: Date, to: Date): boolean {
  if (start.getTime() === end.getTime()) return start >= from && start < to;
  return start < to && end > from;
}

/** Replaces an event's index rows with a planned index (inside the writing transaction); returns the bounds to store. */
export async function writeIndex(trx: Db, calendarId: string, eventId: string, planned: PlannedIndex): Promise<IndexBounds> {
  await deleteInstances(trx, eventId);
  await insertInstances(trx, calendarId, eventId, planned.rows);
  return { from: planned.from, until: planned.until };
}

/**
 * Inserts a new event with its index in two statements: its bounds go in
 * with the row, and a new row has no index rows to replace (a create is the
 * commonest write: every statement saved is a round trip off its latency).
 */
export async function insertIndexedEvent(trx: Db, calendarId: string, modseq: number, columns: EventColumns, planned: PlannedIndex, idempotencyKey: string | null): Promise<CalendarEventRow> {
  const row = await insertEvent(trx, calendarId, modseq, { ...columns, expanded_from: planned.from, expanded_until: planned.until }, idempotencyKey);
  await insertInstances(trx, calendarId, row.id, planned.rows);
  return row;
}

/**
 * Instances overlapping [from, to) that the index does NOT hold (those
 * starting before `bounds.from` or at/after `bounds.until`): what readers
 * expand on the fly.
 */
export function unindexedInstances(obj: ParsedCalendarObject, bounds: IndexBounds, from: Date, to: Date, limits: IcalLimits): Instance[] {
  const out: Instance[] = [];
  if (bounds.from) {
    const end = to < bounds.from ? to : bounds.from;
    if (from < end) out.push(...instancesOverlapping(obj, from, end, limits).filter((i) => i.start < bounds.from!));
  }
  if (bounds.until) {
    const start = from > bounds.until ? from : bounds.until;
    if (start < to) out.push(...instancesOverlapping(obj, start, to, limits).filter((i) => i.start >= bounds.until!));
  }
  return out;
}
