import { ErrorCode, type CalendarEvent, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import { readScope } from '../sync/sync-scope.repository.ts';
import type { CalendarAccess } from './calendar-access.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { decodeCursor, encodeCursor, type SyncCursor } from './calendar-state.ts';
import { renderEvent, type Lens } from './privacy/index.ts';
import type { CalendarEventRow } from './event.table.ts';
import { eventChangesPage, liveEventsPage, liveEventsUpTo } from './event.repository.ts';
import type { CalendarEventService } from './event.service.ts';
import { eventsInWindow, sameWindow, windowAt, type WindowDays } from './sync-window.ts';

type Result = MethodResult<'CalendarEvent/changes'>;

/**
 * CalendarEvent/changes (DESIGN §4). Everything is read in ONE REPEATABLE
 * READ snapshot: the scope's modseq and min_modseq first, then the rows, so
 * the answer is exactly the log up to that modseq. Rows are walked in
 * (modseq, id) order; a page may end inside a group sharing one modseq
 * because the cursor in the state token carries the id too.
 *
 * Without `sinceState` it is an initial sync: live rows in id order pinned at
 * the current modseq, then the log from there.
 */
export async function eventChanges(svc: CalendarEventService, access: CalendarAccess, args: MethodArgs<'CalendarEvent/changes'>): Promise<Result> {
  const calendarId = access.calendar.id;
  const since = args.sinceState !== undefined ? decodeCursor(args.sinceState) : null;
  const window = args.window ? windowAt(svc.clock(), args.window) : null;
  if (since && Boolean(since.window) !== Boolean(window)) {
    throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, since.window ? 'this state belongs to a windowed replica: pass its window' : 'this state belongs to a full replica: resync to use a window');
  }
  return svc.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const scope = await readScope(trx, `cal:${calendarId}`);
      if (!scope) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (since && since.modseq > scope.modseq) throw new DmciError(ErrorCode.INVALID_STATE, 'this state is newer than the calendar: it belongs to another calendar');
      // A mid-page cursor at min_modseq may miss pruned tombstones of its own group, hence <=.
      if (since && !since.initial && (since.afterId ? since.modseq <= scope.minModseq : since.modseq < scope.minModseq)) {
        throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the change log no longer reaches back to this state: resync', { details: { minState: String(scope.minModseq) } });
      }
      const out: Result = { calendarId, oldState: args.sinceState ?? null, newState: '', hasMoreChanges: false, created: [], updated: [], destroyed: [] };
      const limits = svc.limits;

      if (!since || since.initial) {
        // Initial sync: live rows by id, pinned at the modseq the first page saw.
        const pinned = since ? since.modseq : scope.modseq;
        const win = since ? since.window : window;
        const onlyIds = win ? [...(await eventsInWindow(trx, calendarId, win, limits))] : undefined;
        const rows = await liveEventsPage(trx, calendarId, since?.afterId ?? null, pinned, args.maxChanges + 1, onlyIds);
        out.hasMoreChanges = rows.length > args.maxChanges;
        const page = rows.slice(0, args.maxChanges);
        for (const row of page) pushRendered(out.created, row, access.lens);
        out.newState = encodeCursor(
          out.hasMoreChanges ? { initial: true, modseq: pinned, afterId: page.at(-1)!.id, window: win } : { initial: false, modseq: pinned, afterId: null, window: win },
        );
        return out;
      }

      let budget = args.maxChanges;
      let cursorWindow: WindowDays | null = since.window;
      if (window && since.window && !sameWindow(window, since.window)) {
        // Time moved the window: events the replica holds unchanged enter or leave by time alone.
        const before = await eventsInWindow(trx, calendarId, since.window, limits);
        const after = await eventsInWindow(trx, calendarId, window, limits);
        const entered = [...after].filter((id) => !before.has(id));
        const left = [...before].filter((id) => !after.has(id));
        const cursor = { modseq: since.modseq, id: since.afterId };
        const enteredRows = await liveEventsUpTo(trx, calendarId, cursor, entered);
        const leftRows = await liveEventsUpTo(trx, calendarId, cursor, left);
        if (enteredRows.length + leftRows.length > CalendarLimits.maxWindowMoveChanges) {
          throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the window moved too far: resync the window');
        }
        for (const row of enteredRows) pushRendered(out.created, row, access.lens);
        for (const row of leftRows) out.destroyed.push(row.id);
        budget = Math.max(0, budget - enteredRows.length - leftRows.length);
        cursorWindow = window;
      }

      const rows = await eventChangesPage(trx, calendarId, { modseq: since.modseq, id: since.afterId }, scope.modseq, budget + 1);
      out.hasMoreChanges = rows.length > budget;
      const page = rows.slice(0, budget);
      const inWindow = cursorWindow
        ? await eventsInWindow(
            trx,
            calendarId,
            cursorWindow,
            limits,
            page.filter((r) => !r.deleted).map((r) => r.id),
          )
        : undefined;
      const base = since.base ?? since.modseq;
      for (const row of page) {
        if (row.deleted || (inWindow && !inWindow.has(row.id))) {
          // Created after the cursor (and gone, or outside the window): no page can have sent it.
          if (!createdAfter(row, since)) out.destroyed.push(row.id);
        } else {
          // Created after the read began: maybe never sent (an edit may have moved it past a page), so "created".
          pushRendered(row.created_modseq > base ? out.created : out.updated, row, access.lens);
        }
      }
      const last = page.at(-1);
      const next: SyncCursor = out.hasMoreChanges
        ? last
          ? { initial: false, modseq: last.modseq, afterId: last.id, base, window: cursorWindow }
          : { initial: false, modseq: since.modseq, afterId: since.afterId, base, window: cursorWindow }
        : { initial: false, modseq: scope.modseq, afterId: null, window: cursorWindow };
      out.newState = encodeCursor(next);
      return out;
    });
}

/** Was the row created after the cursor position (so no page can have sent any version of it)? */
function createdAfter(row: CalendarEventRow, since: SyncCursor): boolean {
  if (row.created_modseq !== since.modseq || !since.afterId) return row.created_modseq > since.modseq;
  return row.id > since.afterId;
}

function pushRendered(list: CalendarEvent[], row: CalendarEventRow, lens: Lens): void {
  const shown = renderEvent(row, lens);
  if (shown) list.push(shown);
}

/**
 * The log between two plain states as seen through `lens`, for push frames;
 * null when it is too large to push (the client then calls /changes).
 */
export async function changesForPush(svc: CalendarEventService, calendarId: string, fromModseq: number, toModseq: number, lens: Lens): Promise<Result | null> {
  return svc.db
    .transaction()
    .setIsolationLevel('repeatable read')
    .execute(async (trx) => {
      const rows = await eventChangesPage(trx, calendarId, { modseq: fromModseq, id: null }, toModseq, CalendarLimits.maxPushChanges + 1);
      if (rows.length > CalendarLimits.maxPushChanges) return null;
      const since: SyncCursor = { initial: false, modseq: fromModseq, afterId: null, window: null };
      const out: Result = { calendarId, oldState: String(fromModseq), newState: String(toModseq), hasMoreChanges: false, created: [], updated: [], destroyed: [] };
      let bytes = 0;
      for (const row of rows) {
        const isNew = createdAfter(row, since);
        if (row.deleted) {
          if (!isNew) out.destroyed.push(row.id);
          continue;
        }
        pushRendered(isNew ? out.created : out.updated, row, lens);
        bytes += row.ics?.length ?? 0;
        if (bytes > CalendarLimits.maxPushBytes) return null;
      }
      return out;
    });
}
