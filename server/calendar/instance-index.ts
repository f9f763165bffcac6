import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Db } from '../db/database.ts';
import { CalendarLimits, DAY_MS } from './calendar-limits.ts';
import { expandInstances, type IcalLimits, type Instance, type ParsedCalendarObject } from './ical/index.ts';
import { deleteInstances, insertInstances, type InstanceRowInput } from './instance.repository.ts';

/**
 * Turning a parsed event into occurrence-index rows (DESIGN §5).
 *
 The index holds the instances that START in [expanded_from,
 * expanded_until): from `indexPastDays` (one year) back — older history is
 * rarely asked for, and a ten-year-old daily series would otherwise store
 * thousands of dead rows — to a horizon (two years ahead by default), which
 * the horizon job pushes forward. Readers expand whatever lies outside on the
 * fly (unindexedInstances). Expansion runs in windows of `expansionChunkDays`,
 * yielding to the event loop between windows, and stops storing at
 * `maxIndexedInstancesPerEvent` rows (the index then ends where it stopped).
 */

export interface IndexPlan {
  rows: InstanceRowInput[];
  /** null = every instance is in `rows`. */
  expandedUntil: Date | null;
}

/** Longest instance of the object: how far before a window an overlapping instance can start. */
function longestInstanceMs(obj: ParsedCalendarObject): number {
  let longest = 0;
  for (const ev of [obj.master, ...obj.overrides]) if (ev) longest = Math.max(longest, ev.end.getTime() - ev.start.getTime());
  // Wall-clock (floating, all-day) values shift by up to a day against UTC; DST adds an hour.
  return longest + DAY_MS;
}

/**
 * Instances that START in [from, to). Whatever the engine's own window
 * semantics (start-in or overlap), asking from `from − longest` and keeping
 * start-in rows gives each instance to exactly one window.
 */
export function instancesStartingIn(obj: ParsedCalendarObject, from: Date, to: Date, limits: IcalLimits): Instance[] {
  if (to <= from) return [];
  const pad = longestInstanceMs(obj);
  return expandInstances(obj, new Date(from.getTime() - pad), to, limits).filter((i) => i.start >= from && i.start < to);
}

/** Instances OVERLAPPING [from, to) (non-empty overlap, or a zero-length instance inside). */
export function instancesOverlapping(obj: ParsedCalendarObject, from: Date, to: Date, limits: IcalLimits): Instance[] {
  const pad = longestInstanceMs(obj);
  return expandInstances(obj, new Date(from.getTime() - pad), to, limits).filter((i) => overlaps(i.start, i.end, from, to));
}

function isLimitExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'LIMIT_EXCEEDED';
}

export function overlaps(start: Date, end: Date, from: Date, to: Date): boolean {
  if (start.getTime() === end.getTime()) return start >= from && start < to;
  return start < to && end > from;
}

export function toRowInput(instance: Instance): InstanceRowInput {
  return {
    recurrenceId: instance.recurrenceId,
    start: instance.start,
    end: instance.end,
    startLocal: instance.startLocal,
    endLocal: instance.endLocal,
    tzid: instance.tzid,
    allDay: instance.allDay,
    floating: instance.floating,
    busyType: instance.busyType,
    transparent: instance.transparent,
    status: instance.status ?? null,
    classification: instance.classification,
    isOverride: instance.isOverride,
    summary: instance.summary,
    location: instance.location,
  };
}

/**
 * Expands [from, until) (until = null: to the end of a bounded series) in
 * chunks. Stops early at `maxRows`, returning where the stored part ends.
 */
export async function planIndex(obj: ParsedCalendarObject, from: Date, until: Date | null, limits: IcalLimits, maxRows: number): Promise<IndexPlan> {
  const end = until ?? (obj.lastEnd ? new Date(obj.lastEnd.getTime() + 1) : null);
  if (!end) throw new Error('planIndex needs an end for an unbounded series');
  const rows: InstanceRowInput[] = [];
  let chunkMs = CalendarLimits.expansionChunkDays * DAY_MS;
  let cursor = from;
  let first = true;
  while (cursor < end) {
    if (!first) await yieldToLoop();
    first = false;
    const next = new Date(Math.min(cursor.getTime() + chunkMs, end.getTime()));
    let chunk: Instance[];
    try {
      chunk = instancesStartingIn(obj, cursor, next, limits);
    } catch (error) {
      // A dense series overflows one expansion: halve the window (the engine caps instances per call).
      if (isLimitExceeded(error) && chunkMs > 3_600_000) {
        chunkMs = Math.floor(chunkMs / 2);
        continue;
      }
      throw error;
    }
    // The first window is always taken, so every call makes progress.
    if (rows.length > 0 && rows.length + chunk.length > maxRows) return { rows, expandedUntil: cursor };
    for (const instance of chunk) rows.push(toRowInput(instance));
    cursor = next;
  }
  return { rows, expandedUntil: until };
}

export interface IndexBounds {
  /** Instances starting before this are not indexed; null = from the first instance. */
  from: Date | null;
  /** Instances starting at or after this are not indexed; null = to the last instance. */
  until: Date | null;
}

/**
 * The part of an object's instances the index should hold when written at
 * `now`: from `indexPastDays` back (history is expanded on the fly) to the
 * horizon `horizonDays` ahead.
 */
export function indexTarget(obj: ParsedCalendarObject, now: Date, horizonDays: number): IndexBounds {
  const horizon = new Date(now.getTime() + horizonDays * DAY_MS);
  const past = new Date(now.getTime() - CalendarLimits.indexPastDays * DAY_MS);
  return { from: obj.firstStart < past ? past : null, until: obj.lastEnd && obj.lastEnd <= horizon ? null : horizon };
}

/** Replaces an event's index rows (inside the writing transaction); returns the bounds to store. */
export async function writeIndex(trx: Db, calendarId: string, eventId: string, obj: ParsedCalendarObject, now: Date, horizonDays: number, limits: IcalLimits): Promise<IndexBounds> {
  const target = indexTarget(obj, now, horizonDays);
  const plan = await planIndex(obj, target.from ?? obj.firstStart, target.until, limits, CalendarLimits.maxIndexedInstancesPerEvent);
  await deleteInstances(trx, eventId);
  await insertInstances(trx, calendarId, eventId, plan.rows);
  return { from: target.from, until: plan.expandedUntil };
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
