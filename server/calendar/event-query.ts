import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { ErrorCode, type EventInstance, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import { eventViewLevel, type CalendarAccess } from './calendar-access.ts';
import { CalendarLimits, DAY_MS } from './calendar-limits.ts';
import { opaqueUid } from './event-render.ts';
import { eventsExpandedBefore } from './event.repository.ts';
import type { CalendarEventService } from './event.service.ts';
import { parseCalendarObject } from './ical/index.ts';
import { instancesOverlapping, overlaps } from './instance-index.ts';
import { queryIndexedInstances, type IndexedInstance } from './instance.repository.ts';
import { checkTimeZone, wallClockToInstant } from './zoned-time.ts';

/**
 * CalendarEvent/query: expanded instances overlapping [from, to).
 *
 * Reads the occurrence index (GiST on (calendar_id, during)), so its cost
 * follows the size of the answer, not of the store. Events whose index ends
 * before `to` (unbounded series past the horizon) are expanded on the fly for
 * the part after their `expanded_until`. Floating and all-day rows are stored
 * as UTC wall clock: the index is read ±14 h wider for them, then each is
 * placed in the query's `timeZone` and filtered precisely.
 */
export async function queryInstances(svc: CalendarEventService, accesses: CalendarAccess[], args: MethodArgs<'CalendarEvent/query'>): Promise<MethodResult<'CalendarEvent/query'>> {
  const from = new Date(args.from);
  const to = new Date(args.to);
  if (!(from < to)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, '`from` must be before `to`');
  if (to.getTime() - from.getTime() > CalendarLimits.maxQueryRangeDays * DAY_MS) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a query covers at most ${CalendarLimits.maxQueryRangeDays} days`, { details: { limit: CalendarLimits.maxQueryRangeDays } });
  }
  checkTimeZone(args.timeZone);
  const byCalendar = new Map(accesses.map((a) => [a.calendar.id, a]));
  const calendarIds = [...byCalendar.keys()];
  const slack = CalendarLimits.floatingSlackMs;
  const max = CalendarLimits.maxQueryInstances;
  const tooMany = () => new DmciError(ErrorCode.LIMIT_EXCEEDED, `more than ${max} instances in range: narrow it`, { details: { limit: max } });

  const found: EventInstance[] = [];
  const add = (row: IndexedInstance) => {
    const wall = row.floating || row.all_day;
    const start = wall ? wallClockToInstant(row.start_at, args.timeZone) : row.start_at;
    const end = wall ? wallClockToInstant(row.end_at, args.timeZone) : row.end_at;
    if (!overlaps(start, end, from, to)) return;
    const level = eventViewLevel(byCalendar.get(row.calendar_id)!, row.event_classification);
    if (level === 'none') return;
    const shown = level === 'full' || level === 'details';
    found.push({
      calendarId: row.calendar_id,
      eventId: row.event_id,
      uid: level === 'full' ? row.uid : opaqueUid(row.event_id),
      recurrenceId: row.recurrence_id,
      start: start.toISOString(),
      end: end.toISOString(),
      startLocal: row.start_local,
      endLocal: row.end_local,
      tzid: row.tzid,
      allDay: row.all_day,
      floating: row.floating,
      busyType: row.busy_type as EventInstance['busyType'],
      transparent: row.transparent,
      status: row.status,
      isOverride: row.is_override,
      view: level,
      summary: shown ? row.summary : null,
      location: shown ? row.location : null,
    });
    if (found.length > max) throw tooMany();
  };

  // Wider than the answer by the slack: allow for the rows the precise filter drops.
  const indexed = await queryIndexedInstances(svc.db, calendarIds, from, to, slack, 2 * max);
  if (indexed.length >= 2 * max) throw tooMany();
  for (const row of indexed) add(row);

  // Past the horizon: expand on the fly whatever starts after each event's index ends.
  // One expansion may yield as many instances as a whole query may return.
  const expandLimits = { ...svc.limits, maxInstancesPerExpansion: max };
  const wideFrom = new Date(from.getTime() - slack);
  const wideTo = new Date(to.getTime() + slack);
  for (const event of await eventsExpandedBefore(svc.db, calendarIds, wideTo, wideFrom)) {
    await yieldToLoop();
    const indexedUntil = event.expanded_until!;
    const obj = parseCalendarObject(event.ics!, svc.limits);
    const windowFrom = wideFrom > indexedUntil ? wideFrom : indexedUntil;
    for (const inst of instancesOverlapping(obj, windowFrom, wideTo, expandLimits)) {
      if (inst.start < indexedUntil) continue;
      add({
        event_id: event.id,
        calendar_id: event.calendar_id,
        uid: event.uid,
        recurrence_id: inst.recurrenceId,
        start_at: inst.start,
        end_at: inst.end,
        start_local: inst.startLocal,
        end_local: inst.endLocal,
        tzid: inst.tzid,
        all_day: inst.allDay,
        floating: inst.floating,
        busy_type: inst.busyType,
        transparent: inst.transparent,
        status: inst.status ?? null,
        classification: inst.classification,
        event_classification: event.classification,
        is_override: inst.isOverride,
        summary: inst.summary,
        location: inst.location,
      });
    }
  }

  found.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : a.recurrenceId < b.recurrenceId ? -1 : 1));
  const instances = found.slice(args.position, args.position + args.limit);
  return { instances, position: args.position, hasMore: args.position + args.limit < found.length };
}
