import type { Calendar, Grant } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { encodeState } from '../sync/state-token.ts';
import { readScopes } from '../sync/sync-scope.repository.ts';
import { hasRight, type Right } from './calendar-access.ts';
import { findCalendarsWithOwner, grantsOf } from './calendar.repository.ts';

/**
 * Calendars as one account sees them: its rights, the events scope and
 * state, and (for the owner and managers only) who else it is shared with.
 * Calendars the account cannot see are left out.
 */
export async function renderCalendars(db: Db, accountId: string, ids: readonly string[]): Promise<Map<string, Calendar>> {
  const rows = await findCalendarsWithOwner(db, ids);
  const grants = await grantsOf(
    db,
    rows.map((r) => r.id),
  );
  const states = await readScopes(
    db,
    rows.map((r) => calendarScope(r.id)),
  );
  const out = new Map<string, Calendar>();
  for (const row of rows) {
    const mine = grants.filter((g) => g.calendar_id === row.id);
    const myGrant = mine.find((g) => g.grantee_id === accountId);
    let right: Right;
    let mayReadPrivate = false;
    if (row.account_id === accountId) {
      right = 'owner';
      mayReadPrivate = true;
    } else if (myGrant) {
      right = myGrant.access_right;
      mayReadPrivate = myGrant.is_delegate && myGrant.private_access;
    } else continue;
    const shareWith: Record<string, Grant> | null = hasRight({ right, mayReadPrivate, delegate: false, calendar: row }, 'manage')
      ? Object.fromEntries(mine.map((g) => [g.email, { right: g.access_right, delegate: g.is_delegate, privateAccess: g.private_access }]))
      : null;
    out.set(row.id, {
      id: row.id,
      name: row.name,
      color: row.color,
      description: row.description,
      isDefault: row.is_default,
      owner: { id: row.account_id, email: row.owner_email },
      scope: calendarScope(row.id),
      state: encodeState(states.get(calendarScope(row.id))?.modseq ?? 0),
      myRights: { right, mayReadPrivate },
      shareWith,
    });
  }
  return out;
}
