import type { Db } from '../db/database.ts';
import { DAY_MS } from './calendar-limits.ts';
import { eventsNotFullyIndexed } from './event.repository.ts';
import { unindexedInstances } from './instance-index.ts';
import { eventIdsTouching } from './instance.repository.ts';
import { parseCalendarObject, type IcalLimits } from './ical/index.ts';
import type { WindowDays } from '../sync/state-token.ts';

/**
 * Time-window sync (like ActiveSync's filter): a replica holds only events
 * with an instance touching [start of today − pastDays, start of today +
 * futureDays + 1 day), in whole UTC days. The window is recorded in the state
 * token as day numbers, so a later call can tell which events entered or left
 * because time passed. Floating and all-day values are judged by their wall
 * clock read as UTC (so a window edge is fuzzy by the viewer's offset).
 */

export type { WindowDays } from '../sync/state-token.ts';

export function windowAt(now: Date, window: { pastDays: number; futureDays: number }): WindowDays {
  const today = Math.floor(now.getTime() / DAY_MS);
  return { startDay: today - window.pastDays, endDay: today + window.futureDays + 1 };
}

export function sameWindow(a: WindowDays, b: WindowDays): boolean {
  return a.startDay === b.startDay && a.endDay === b.endDay;
}

/**
 * Events (optionally among `onlyIds`) with an instance touching the window:
 * the occurrence index, plus an on-the-fly expansion for events whose index
 * does not cover the whole window.
 */
export async function eventsInWindow(db: Db, calendarId: string, window: WindowDays, limits: IcalLimits, onlyIds?: readonly string[]): Promise<Set<string>> {
  const from = new Date(window.startDay * DAY_MS);
  const to = new Date(window.endDay * DAY_MS);
  const found = await eventIdsTouching(db, calendarId, from, to, onlyIds);
  const only = onlyIds ? new Set(onlyIds) : undefined;
  for (const row of await eventsNotFullyIndexed(db, [calendarId], from, to)) {
    if (found.has(row.id) || (only && !only.has(row.id)) || !row.ics) continue;
    const obj = parseCalendarObject(row.ics, limits);
    try {
      if (unindexedInstances(obj, { from: row.expanded_from, until: row.expanded_until }, from, to, limits).length > 0) found.add(row.id);
    } catch (error) {
      // Too many instances to list in the window: it certainly touches it.
      if ((error as { code?: string }).code !== 'LIMIT_EXCEEDED') throw error;
      found.add(row.id);
    }
  }
  return found;
}
