import { ErrorCode, type EventInstance, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import { DmciError } from '../errors.ts';
import type { CalendarAccess } from './calendar-access.ts';
import { CalendarLimits, DAY_MS } from './calendar-limits.ts';
import { eventsNotFullyIndexed } from './event.repository.ts';
import { renderInstance } from './privacy/index.ts';
import type { CalendarEventService } from './event.service.ts';
import { overlaps } from './instance-index.ts';
import { queryIndexedInstances, type IndexedInstance } from './instance.repository.ts';
import { checkTimeZone, wallClockToInstant } from './zoned-time.ts';

/**
 * CalendarEvent/query: expanded instances overlapping [from, to).
 *
 * Reads the occurrence index in start order (queryIndexedInstances), which
 * cuts the page in PostgreSQL, so the cost follows position + limit, not the
 * number of instances in the range nor the size of the store. The parts of a
 * series the index does not hold (past its horizon, or more than a year back)
 * are expanded on the fly and merged in. Floating and all-day instances are
 * placed in the query's `timeZone` (stored as UTC wall clock, within ±14 h of
 * where they land). `owner` (workOwner) is whose turn of the calendar worker pool that expansion takes.
 */
export async function queryInstances(svc: CalendarEventService, accesses: CalendarAccess[], args: MethodArgs<'CalendarEvent/query'>, owner: string): Promise<MethodResult<'CalendarEvent/query'>> {
  const from = new Date(args.from);
  const to = new Date(args.to);
  if (!(from < to)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, '`from` must be before `to`');
  if (to.getTime() - from.getTime() > CalendarLimits.maxQueryRangeDays * DAY_MS) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a query covers at most ${CalendarLimits.maxQueryRangeDays} days`, { details: { limit: CalendarLimits.maxQueryRangeDays } });
  }
  const max = CalendarLimits.maxQueryInstances;
  const end = args.position + args.limit;
  if (end > max) throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `position + limit may not exceed ${max}: narrow the range`, { details: { limit: max } });
  checkTimeZone(args.timeZone);
  const byCalendar = new Map(accesses.map((a) => [a.calendar.id, a]));
  const calendarIds = [...byCalendar.keys()];
  const slackMs = CalendarLimits.floatingSlackMs;
  // More than `max` instances beyond the page's end: the range is too wide to page through.
  const tooMany = max + end + 1;
  const tooManyError = () => new DmciError(ErrorCode.LIMIT_EXCEEDED, `more than ${max} instances in range: narrow it`, { details: { limit: max } });

  // The page is cut from the merge of the index's answer order with the instances the index does not hold.
  // Those (usually none) are expanded first: how many there are says how far into the index's order the page can start.
  // One expansion may yield as many instances as a whole query may return.
  const expandLimits = { ...svc.limits, maxInstancesPerExpansion: max };
  const wideFrom = new Date(from.getTime() - slackMs);
  const wideTo = new Date(to.getTime() + slackMs);
  const onTheFly: IndexedInstance[] = [];
  const unindexed = await eventsNotFullyIndexed(svc.db, calendarIds, wideFrom, wideTo);
  const expanded = await svc.expandUnindexed(owner, unindexed, wideFrom, wideTo, expandLimits);
  for (const [i, event] of unindexed.entries()) {
    const result = expanded[i]!;
    if (!result.ok) throw DmciError.fromBody(result.error);
    for (const inst of result.instances) {
      const wall = inst.floating || inst.allDay;
      const start = wall ? wallClockToInstant(inst.start, args.timeZone) : inst.start;
      const instEnd = wall ? wallClockToInstant(inst.end, args.timeZone) : inst.end;
      if (!overlaps(start, instEnd, from, to)) continue;
      onTheFly.push({
        event_id: event.id,
        calendar_id: event.calendar_id,
        uid: event.uid,
        recurrence_id: inst.recurrenceId,
        start_at: start,
        end_at: instEnd,
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
      if (onTheFly.length > tooMany) throw tooManyError();
    }
  }
  onTheFly.sort(answerOrder);

  // The first `end + 1` of the answer order suffice (the extra one says whether there is more). Of the index's
  // part, positions before `position − onTheFly.length` are before the page whatever the merge: they are skipped
  // in PostgreSQL (an index walk), and only the rows from there on are fetched.
  const skip = Math.max(0, args.position - onTheFly.length);
  const indexed = await queryIndexedInstances(svc.db, calendarIds, { from, to, timeZone: args.timeZone, slackMs }, { skip, first: end + 1 }).catch((error: unknown) => {
    if ((error as { code?: string }).code === '22023') throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `unknown time zone ${JSON.stringify(args.timeZone)}`);
    throw error;
  });
  if (indexed.counted + onTheFly.length > tooMany) throw tooManyError();
  // `base`: the answer position of rows[0]. Skipped index rows and the on-the-fly rows ordered before the first
  // fetched index row come before it; every other on-the-fly row is merged in.
  let base = 0;
  let rows: IndexedInstance[];
  if (skip === 0) {
    rows = [...indexed.rows, ...onTheFly].sort(answerOrder);
  } else if (indexed.rows.length > 0) {
    const firstFetched = indexed.rows[0]!;
    const ahead = onTheFly.filter((row) => answerOrder(row, firstFetched) < 0).length;
    base = skip + ahead;
    rows = [...indexed.rows, ...onTheFly.slice(ahead)].sort(answerOrder);
  } else {
    // The index holds at most `skip` rows: with every on-the-fly row that is at most `position` in all.
    rows = [];
    base = args.position;
  }
  const instances: EventInstance[] = [];
  // The page also ends before the instance that would take the answer past maxAnswerBytes.
  const bytes = new AnswerBudget();
  let endedEarly = false;
  for (const row of rows.slice(args.position - base, end - base)) {
    // Each instance at its own component's level (an override may be more private than its master, or less).
    const instance = renderInstance(row, byCalendar.get(row.calendar_id)!.lens);
    if (!instance) continue;
    if (!bytes.fits(instance)) {
      endedEarly = true;
      break;
    }
    instances.push(instance);
  }
  return { instances, position: args.position, hasMore: endedEarly || indexed.counted + onTheFly.length > end };
}

/** The answer order: start, then event id, then recurrence id (as PostgreSQL orders them with collate "C"). */
function answerOrder(a: IndexedInstance, b: IndexedInstance): number {
  return (
    a.start_at.getTime() - b.start_at.getTime() ||
    (a.event_id < b.event_id ? -1 : a.event_id > b.event_id ? 1 : a.recurrence_id < b.recurrence_id ? -1 : a.recurrence_id > b.recurrence_id ? 1 : 0)
  );
}
