import { sql } from 'kysely';
import { ErrorCode } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { eventLens, hasRight, higherRight, type Lens, type Right, type Viewer } from './privacy/index.ts';
import { grantRowsFor, type CalendarTarget, type CalendarWithOwner } from './rights.repository.ts';

/**
 * Rights (DESIGN §6): who may do what on a calendar. Rights rise
 * freebusy < details < read < write < manage; the owner has everything. A
 * grantee is an account or a GAL group (every member, nested groups
 * included); of several grants the highest right wins, and a viewer is a
 * delegate (with private access) if any of its grants makes it one. What a
 * viewer then sees of each event is the privacy policy's business
 * (./privacy/), fed by `lens`.
 *
 * Resolution is in bulk: one query for any number of calendars (or of
 * owners' default calendars). A write resolves again inside its own
 * transaction after taking the calendar's scope lock; every change that can
 * revoke a right takes that lock too (share changes exclusively, membership
 * changes in share mode), so a revoke that commits first always wins.
 */

export type { Right } from './privacy/index.ts';

/** The least right that reads events (get, changes, query, push); the lens then says how much of each. */
export const EVENT_READ: Right = 'details';

export interface CalendarAccess extends Viewer {
  calendar: CalendarWithOwner;
  delegate: boolean;
  /** What the viewer sees of each event on event paths. */
  lens: Lens;
}

/** Each viewer's access to each target calendar it may see at all (viewer id → calendar id → access). One query. */
export async function resolveRightsOfMany(db: Db, viewerIds: readonly string[], target: CalendarTarget): Promise<Map<string, Map<string, CalendarAccess>>> {
  const out = new Map<string, Map<string, CalendarAccess>>(viewerIds.map((id) => [id, new Map()]));
  for (const row of await grantRowsFor(db, viewerIds, target)) {
    const mine = out.get(row.viewer_id)!;
    const seen = mine.get(row.calendar.id);
    const owner = row.calendar.account_id === row.viewer_id;
    const right: Right = owner ? 'owner' : row.access_right!;
    const delegate = !owner && row.is_delegate === true;
    const mayReadPrivate = owner || (delegate && row.private_access === true);
    const merged: Viewer & { delegate: boolean } = seen
      ? { right: higherRight(seen.right, right), delegate: seen.delegate || delegate, mayReadPrivate: seen.mayReadPrivate || mayReadPrivate }
      : { right, delegate, mayReadPrivate };
    mine.set(row.calendar.id, { calendar: row.calendar, ...merged, lens: eventLens(merged) });
  }
  return out;
}

/** One viewer's access to the target calendars (those it cannot see are absent). One query. */
export async function resolveRights(db: Db, accountId: string, target: CalendarTarget): Promise<Map<string, CalendarAccess>> {
  return (await resolveRightsOfMany(db, [accountId], target)).get(accountId)!;
}

/** The caller's access to a calendar, or undefined when it has none (or the calendar does not exist). */
export async function resolveAccess(db: Db, calendarId: string, accountId: string): Promise<CalendarAccess | undefined> {
  return (await resolveRights(db, accountId, { calendarIds: [calendarId] })).get(calendarId);
}

/**
 * Resolves access to every calendar and demands a right on each, in one
 * query. A caller with no access at all gets NOT_FOUND, so calendars of
 * others cannot be probed; one with too little gets FORBIDDEN.
 */
export async function requireAccesses(db: Db, calendarIds: readonly string[], accountId: string, needed: Right): Promise<CalendarAccess[]> {
  const unique = [...new Set(calendarIds)];
  const found = await resolveRights(db, accountId, { calendarIds: unique });
  return unique.map((id) => {
    const access = found.get(id);
    if (!access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${id} not found`);
    if (!hasRight(access, needed)) throw new DmciError(ErrorCode.FORBIDDEN, `this needs the ${needed} right on calendar ${id}`);
    return access;
  });
}

export async function requireAccess(db: Db, calendarId: string, accountId: string, needed: Right): Promise<CalendarAccess> {
  return (await requireAccesses(db, [calendarId], accountId, needed))[0]!;
}

/**
 * Takes scope row locks without bumping the scopes, so the change that
 * follows (a grant revoked, a membership removed) serialises with the
 * writers of those scopes: event writers bump `cal:<id>` first and re-check
 * their right after it. `share` where several such changes may run together
 * (membership changes; a share change against GAL writers), `exclusive`
 * where they must not (share changes of one calendar). Sorted, like
 * bumpScopes. Lock order everywhere: `gal:` → `cal:` → calendar row →
 * `calendars:` lists.
 */
export async function lockScopes(db: Db, scopeIds: readonly string[], mode: 'share' | 'exclusive'): Promise<void> {
  const ids = [...new Set(scopeIds)].sort();
  if (ids.length === 0) return;
  await sql`select id from sync_scopes where id = any(${sql.val(ids)}::text[]) order by id ${sql.raw(mode === 'share' ? 'for share' : 'for no key update')}`.execute(db);
}
