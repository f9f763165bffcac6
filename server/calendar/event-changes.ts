import { ErrorCode, type CalendarEvent, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { encodeState, type WindowDays } from '../sync/state-token.ts';
import type { CalendarAccess } from './calendar-access.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { renderEvent, type Lens } from './privacy/index.ts';
import type { CalendarEventRow } from './event.table.ts';
import { eventChangesPage, liveEventsPage, liveEventsUpTo } from './event.repository.ts';
import type { CalendarEventService } from './event.service.ts';
import { workOwner } from './ical-work/pool.ts';
import { eventsInWindow, sameWindow, windowAt, type ExpandUnindexed } from './sync-window.ts';

type Result = MethodResult<'CalendarEvent/changes'>;
type EventLogRow = CalendarEventRow & { outsideWindow?: boolean };

/**
 * CalendarEvent/changes (DESIGN §4): the sync core's walker (sync/change-log.ts)
 * over calendar_events, rendered at the viewer's level. What is the
 * calendar's own: the window (a windowed replica holds only events touching
 * a range of days; the state token records it).
 */
export async function eventChanges(svc: CalendarEventService, access: CalendarAccess, args: MethodArgs<'CalendarEvent/changes'>, owner: string): Promise<Result> {
  return readEventChanges(svc, access.calendar.id, access.lens, args, owner);
}

/**
 * The log between two complete states as seen through `lens`, for push frames;
 * null when it is too large to push (the client then calls /changes).
 */
export async function changesForPush(svc: CalendarEventService, calendarId: string, fromModseq: number, toModseq: number, lens: Lens): Promise<Result | null> {
  const result = await readEventChanges(svc, calendarId, lens, { calendarId, sinceState: encodeState(fromModseq), maxChanges: CalendarLimits.maxPushChanges }, workOwner.server, toModseq);
  const bytes = [...result.created, ...result.updated].reduce((n, event) => n + event.ics.length, 0);
  return result.hasMoreChanges || bytes > CalendarLimits.maxPushBytes ? null : result;
}

/** `owner` (workOwner): whose turn of the calendar worker pool a window's expansion takes. */
async function readEventChanges(svc: CalendarEventService, calendarId: string, lens: Lens, args: MethodArgs<'CalendarEvent/changes'>, owner: string, upTo?: number): Promise<Result> {
  const window = args.window ? windowAt(svc.clock(), args.window) : null;
  const notFound = () => new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
  const expand: ExpandUnindexed = (events, from, to) => svc.expandUnindexed(owner, events, from, to);
  return readChanges(
    svc.db,
    calendarScope(calendarId),
    args.sinceState,
    async ({ trx, upTo: end, since }) => {
      if (since && Boolean(since.window) !== Boolean(window)) {
        throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, since.window ? 'this state belongs to a windowed replica: pass its window' : 'this state belongs to a full replica: resync to use a window');
      }
      const out: Result = { calendarId, oldState: args.sinceState ?? null, newState: '', hasMoreChanges: false, created: [], updated: [], destroyed: [] };
      // The page also ends before the object that would take the answer past maxAnswerBytes.
      const bytes = new AnswerBudget();
      const rendered = new Map<string, CalendarEvent | null>();
      let budget = args.maxChanges;
      let cursorWindow = since ? since.window : window;
      if (since && !since.initial && window && since.window && !sameWindow(window, since.window)) {
        // Time moved the window: events the replica holds unchanged enter or leave by time alone.
        const before = await eventsInWindow(trx, calendarId, since.window, expand);
        const after = await eventsInWindow(trx, calendarId, window, expand);
        const cursor = { modseq: since.modseq, id: since.afterId };
        const enteredRows = await liveEventsUpTo(
          trx,
          calendarId,
          cursor,
          [...after].filter((id) => !before.has(id)),
        );
        const leftRows = await liveEventsUpTo(
          trx,
          calendarId,
          cursor,
          [...before].filter((id) => !after.has(id)),
        );
        if (enteredRows.length + leftRows.length > CalendarLimits.maxWindowMoveChanges) {
          throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the window moved too far: resync the window');
        }
        // Not pageable: a move whose events do not fit one answer is resynced like one with too many.
        const tooFar = () => new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the window moved too far: resync the window');
        for (const row of enteredRows) {
          const event = render(row, lens, rendered);
          if (event && !bytes.fits(event)) throw tooFar();
          if (event) out.created.push(event);
        }
        for (const row of leftRows) {
          if (!bytes.fits(row.id)) throw tooFar();
          out.destroyed.push(row.id);
        }
        budget = Math.max(0, budget - enteredRows.length - leftRows.length);
        cursorWindow = window;
      }
      const reader = eventReader(trx, calendarId, cursorWindow, expand);
      // Counts each row as the answer will carry it (rendered at the viewer's level, or its id when gone).
      reader.fit = (rows) => {
        let fitting = 0;
        for (const row of rows) {
          const gone = row.deleted || row.outsideWindow === true;
          const event = gone ? null : render(row, lens, rendered);
          if (!bytes.fits(gone ? row.id : (event ?? ''))) break;
          fitting++;
        }
        return fitting;
      };
      const page = await walkLog(reader, since, end, budget, cursorWindow);
      for (const row of page.created) pushRendered(out.created, row, lens, rendered);
      for (const row of page.updated) pushRendered(out.updated, row, lens, rendered);
      out.destroyed.push(...page.destroyed);
      out.newState = page.newState;
      out.hasMoreChanges = page.hasMoreChanges;
      return out;
    },
    { notFound, ...(upTo !== undefined ? { upTo } : {}) },
  );
}

/** calendar_events as the walker reads them; in a window, events outside it count as gone. */
function eventReader(trx: Db, calendarId: string, window: WindowDays | null, expand: ExpandUnindexed): ChangeLogReader<EventLogRow> {
  return {
    async changes(after, upTo, limit) {
      const rows: EventLogRow[] = await eventChangesPage(trx, calendarId, after, upTo, limit);
      if (!window) return rows;
      const inWindow = await eventsInWindow(
        trx,
        calendarId,
        window,
        expand,
        rows.filter((r) => !r.deleted).map((r) => r.id),
      );
      for (const row of rows) row.outsideWindow = !row.deleted && !inWindow.has(row.id);
      return rows;
    },
    async live(pinned, afterId, limit) {
      const onlyIds = window ? [...(await eventsInWindow(trx, calendarId, window, expand))] : undefined;
      return liveEventsPage(trx, calendarId, afterId, pinned, limit, onlyIds);
    },
    entry: (row) => ({ id: row.id, modseq: row.modseq, createdModseq: row.created_modseq, gone: row.deleted || row.outsideWindow === true }),
  };
}

/** The row as seen through `lens` (null: not at all), rendered once per answer. */
function render(row: CalendarEventRow, lens: Lens, cache: Map<string, CalendarEvent | null>): CalendarEvent | null {
  let event = cache.get(row.id);
  if (event === undefined) {
    event = renderEvent(row, lens);
    cache.set(row.id, event);
  }
  return event;
}

function pushRendered(list: CalendarEvent[], row: CalendarEventRow, lens: Lens, cache: Map<string, CalendarEvent | null>): void {
  const event = render(row, lens, cache);
  if (event) list.push(event);
}
