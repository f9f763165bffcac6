import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { CalendarLimits, DAY_MS } from './calendar-limits.ts';
import { expandInstances, isBudgetError, type IcalLimits, type Instance, type ParsedCalendarObject } from './ical/index.ts';
import type { InstanceRowInput } from './instance.repository.ts';

/**
 * Planning the occurrence index of one object (DESIGN §5; the why is in
 * instance-index.ts): which instances the index holds and their rows. Pure
 * CPU and no database, so the calendar worker threads (ical-work/) load it
 * without the database layer.
 */

export interface IndexPlan {
  rows: InstanceRowInput[];
  /** null = every instance is in `rows`. */
  expandedUntil: Date | null;
}

/** Longest instance of the object: how far before a window an overlapping instance can start. */
export function longestInstanceMs(obj: ParsedCalendarObject): number {
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

/** Too many instances in one window (a smaller window helps); a spent work budget is not that. */
function isLimitExceeded(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === 'LIMIT_EXCEEDED' && !isBudgetError(error);
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
 * chunks, pausing (a bare `yield`) between chunks. Stops early at `maxRows`,
 * returning where the stored part ends.
 */
function* planChunks(obj: ParsedCalendarObject, from: Date, until: Date | null, limits: IcalLimits, maxRows: number): Generator<void, IndexPlan> {
  const end = until ?? (obj.lastEnd ? new Date(obj.lastEnd.getTime() + 1) : null);
  if (!end) throw new Error('planIndex needs an end for an unbounded series');
  const rows: InstanceRowInput[] = [];
  let chunkMs = CalendarLimits.expansionChunkDays * DAY_MS;
  let cursor = from;
  let first = true;
  while (cursor < end) {
    if (!first) yield;
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

/** planChunks on the event loop, yielding to it between chunks (the horizon job). */
export async function planIndex(obj: ParsedCalendarObject, from: Date, until: Date | null, limits: IcalLimits, maxRows: number): Promise<IndexPlan> {
  const chunks = planChunks(obj, from, until, limits, maxRows);
  for (let step = chunks.next(); ; step = chunks.next()) {
    if (step.done) return step.value;
    await yieldToLoop();
  }
}

/** planChunks in one go: for a worker thread (ical-work/), where nothing else waits for the loop. */
export function planIndexAtOnce(obj: ParsedCalendarObject, from: Date, until: Date | null, limits: IcalLimits, maxRows: number): IndexPlan {
  const chunks = planChunks(obj, from, until, limits, maxRows);
  for (;;) {
    const step = chunks.next();
    if (step.done) return step.value;
  }
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

/** The index rows of a freshly written object and the bounds to store with them. */
export interface PlannedIndex extends IndexBounds {
  rows: InstanceRowInput[];
}

/** Plans the index of an object written at `now` (pure CPU: ical-work/ runs it off the event loop). */
export function planWriteIndex(obj: ParsedCalendarObject, now: Date, horizonDays: number, limits: IcalLimits): PlannedIndex {
  const target = indexTarget(obj, now, horizonDays);
  const plan = planIndexAtOnce(obj, target.from ?? obj.firstStart, target.until, limits, CalendarLimits.maxIndexedInstancesPerEvent);
  return { rows: plan.rows, from: target.from, until: plan.expandedUntil };
}

