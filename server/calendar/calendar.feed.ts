import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import type { Session } from '../sessions/session.ts';
import type { ScopeFeed } from '../sync/push-hub.ts';
import { calendarListScope, scopeKey, ScopeKind } from '../sync/scope-id.ts';
import { encodeState } from '../sync/state-token.ts';
import { EVENT_READ, requireAccess } from './calendar-access.ts';
import { CalendarLimits } from './calendar-limits.ts';
import type { CalendarService } from './calendar.service.ts';
import { changesForPush } from './event-changes.ts';
import type { CalendarEventService } from './event.service.ts';
import { lensKey, lensOfKey } from './privacy/index.ts';

/**
 * Push for `cal:<calendarId>` scopes. Followers are grouped by view key —
 * the privacy policy's lens, e.g. "full/full" (owner, delegates with private
 * access), "full/time" (readers), "details/time" — so each group gets one
 * encoded frame, rendered by the same functions as CalendarEvent/changes. The
 * payload is a CalendarEvent/changes result for (from, to], or null (a resync
 * mark) above maxPushChanges changes or maxPushBytes of iCalendar text.
 */
export function calendarFeed(events: CalendarEventService): ScopeFeed {
  return {
    async authorize(session: Session, scopeId: string): Promise<string> {
      const access = await requireAccess(events.db, scopeKey(ScopeKind.calendar, scopeId), session.account.id, EVENT_READ);
      return lensKey(access.lens);
    },
    async loadChanges(scopeId: string, fromModseq: number, toModseq: number, viewKey: string): Promise<unknown> {
      return changesForPush(events, scopeKey(ScopeKind.calendar, scopeId), fromModseq, toModseq, lensOfKey(viewKey));
    },
  };
}

/**
 * Push for `calendars:<accountId>` (an account's calendar list): only the
 * account itself may follow it. The payload is a Calendar/changes result for
 * (from, to], or null above maxPushChanges entries.
 */
export function calendarListFeed(calendars: CalendarService): ScopeFeed {
  return {
    async authorize(session: Session, scopeId: string): Promise<string> {
      if (scopeId !== calendarListScope(session.account.id)) throw new DmciError(ErrorCode.FORBIDDEN, 'only its account may follow a calendar list');
      return 'self';
    },
    async loadChanges(scopeId: string, fromModseq: number, toModseq: number): Promise<unknown> {
      const result = await calendars.listChanges(scopeKey(ScopeKind.calendarList, scopeId), { sinceState: encodeState(fromModseq), maxChanges: CalendarLimits.maxPushChanges }, toModseq);
      return result.hasMoreChanges ? null : result;
    },
  };
}
