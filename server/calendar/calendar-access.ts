import { ErrorCode } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { findCalendar, findGrantForAccount } from './calendar.repository.ts';
import type { AccessRight, CalendarRow } from './calendar.table.ts';

/**
 * Rights and privacy: the ONE policy (DESIGN §6). Every path that shows
 * calendar data — get, changes, query, push, and later free/busy and LDAP —
 * asks this module who may do what and how much of an event a viewer sees.
 *
 * Rights rise freebusy < read < write < manage; the owner has everything.
 * A delegate may be granted private access, which lets them see
 * CLASS:PRIVATE and CONFIDENTIAL events in full like the owner.
 */

export type Right = AccessRight | 'owner';
export type ViewLevel = 'full' | 'details' | 'time' | 'none';
/** Viewers with the same key see every event of a calendar the same way (push encodes once per key). */
export type ViewKey = 'full' | 'standard';

export interface CalendarAccess {
  calendar: CalendarRow;
  right: Right;
  delegate: boolean;
  /** Sees private events in full: the owner, or a delegate granted private access. */
  mayReadPrivate: boolean;
}

const rank: Record<Right, number> = { freebusy: 1, read: 2, write: 3, manage: 4, owner: 5 };

export function hasRight(access: CalendarAccess, needed: Right): boolean {
  return rank[access.right] >= rank[needed];
}

/**
 * What a viewer sees of one event: everything, time+subject+location, time
 * only, or nothing. Free/busy-only viewers see no events at all (only the
 * merged intervals FreeBusy/query gives). 'details' is the level for a future
 * "subject and location" right (Outlook's middle free/busy level); no right
 * maps to it today.
 */
export function eventViewLevel(viewer: { right: Right; mayReadPrivate: boolean }, classification: string): ViewLevel {
  if (rank[viewer.right] < rank.read) return 'none';
  if (viewer.mayReadPrivate) return 'full';
  return classification === 'PUBLIC' ? 'full' : 'time';
}

export function viewKeyOf(access: CalendarAccess): ViewKey {
  return access.mayReadPrivate ? 'full' : 'standard';
}

/** The viewer a push view key stands for (every key is a reader or better). */
export function viewerOfKey(key: string): { right: Right; mayReadPrivate: boolean } {
  return key === 'full' ? { right: 'owner', mayReadPrivate: true } : { right: 'read', mayReadPrivate: false };
}

/** The caller's access to a calendar, or undefined when it has none (or the calendar does not exist). */
export async function resolveAccess(db: Db, calendarId: string, accountId: string): Promise<CalendarAccess | undefined> {
  const calendar = await findCalendar(db, calendarId);
  if (!calendar) return undefined;
  if (calendar.account_id === accountId) return { calendar, right: 'owner', delegate: false, mayReadPrivate: true };
  // Groups: once directory groups exist, grants to groups the account belongs to join here (highest right wins).
  const grant = await findGrantForAccount(db, calendarId, accountId);
  if (!grant) return undefined;
  return { calendar, right: grant.access_right, delegate: grant.is_delegate, mayReadPrivate: grant.is_delegate && grant.private_access };
}

/**
 * Resolves access and demands a right. A caller with no access at all gets
 * NOT_FOUND, so calendars of others cannot be probed; one with too little
 * gets FORBIDDEN.
 */
export async function requireAccess(db: Db, calendarId: string, accountId: string, needed: Right): Promise<CalendarAccess> {
  const access = await resolveAccess(db, calendarId, accountId);
  if (!access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
  if (!hasRight(access, needed)) throw new DmciError(ErrorCode.FORBIDDEN, `this needs the ${needed} right on calendar ${calendarId}`);
  return access;
}
