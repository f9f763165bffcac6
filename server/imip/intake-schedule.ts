import type { PreparedWrite } from '../calendar/ical-work/tasks.ts';
import type { Db } from '../db/database.ts';
import type { ExpandBookable } from '../scheduling/room-booking-reach.ts';
import { Schedule } from '../scheduling/scheduler.ts';
import type { ImipOut } from './imip-out.ts';

/**
 * The Schedule of one message taken in from mail (imip-in.ts for answers,
 * calendar-attendant.ts for invitations): no objects of a CalendarEvent/set,
 * only the account whose calendar and inbox it writes. The delegates of
 * that calendar who chose copies get its messages too (`inboxCalendars`).
 */
export function openIntakeSchedule(
  db: Db,
  o: { calendarId: string; ownerId: string; ownerDomainId: string; now: Date; prepare: (texts: string[]) => Promise<PreparedWrite[]>; expandBookable: ExpandBookable; imip: ImipOut | undefined; answeredEvents?: readonly string[] },
): Promise<Schedule> {
  return Schedule.open(db, {
    calendarId: o.calendarId,
    ownerId: o.ownerId,
    ownerDomainId: o.ownerDomainId,
    creates: new Map(),
    updates: new Map(),
    destroys: [],
    replies: new Map(),
    counters: new Map(),
    declineCounters: new Map(),
    now: o.now,
    prepare: o.prepare,
    expandBookable: o.expandBookable,
    imip: o.imip,
    sentBy: null,
    // One attempt, no re-run loop: a text not planned before the locks is planned under them.
    planUnderLocks: true,
    // Mail from outside is no organizer's write here: no invitation budget is spent.
    invitationCopiesPerMinute: 0,
    approvingFor: [],
    inboxCalendars: [o.calendarId],
    // An answer from outside reaches the internal attendees' copies of the event too (their calendars are bumped).
    answeredEvents: o.answeredEvents,
  });
}
