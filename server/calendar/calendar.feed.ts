import type { Session } from '../sessions/session.ts';
import type { ScopeFeed } from '../sync/push-hub.ts';
import { requireAccess, viewerOfKey, viewKeyOf } from './calendar-access.ts';
import { changesForPush } from './event-changes.ts';
import type { CalendarEventService } from './event.service.ts';

/**
 * Push for `cal:<calendarId>` scopes. Followers are grouped by view key —
 * 'full' (owner, delegates with private access) or 'standard' (readers:
 * private events as time only) — so each group gets one encoded frame. The
 * payload is a CalendarEvent/changes result for (from, to], or null (a resync
 * mark) above maxPushChanges changes or maxPushBytes of iCalendar text.
 */
export function calendarFeed(events: CalendarEventService): ScopeFeed {
  return {
    async authorize(session: Session, scopeId: string): Promise<string> {
      const access = await requireAccess(events.db, scopeId.slice('cal:'.length), session.account.id, 'read');
      return viewKeyOf(access);
    },
    async loadChanges(scopeId: string, fromModseq: number, toModseq: number, viewKey: string): Promise<unknown> {
      return changesForPush(events, scopeId.slice('cal:'.length), fromModseq, toModseq, viewerOfKey(viewKey));
    },
  };
}
