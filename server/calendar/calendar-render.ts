import type { Calendar, GrantInfo } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { encodeState } from '../sync/state-token.ts';
import { readScopes } from '../sync/sync-scope.repository.ts';
import { resolveRights, type CalendarAccess } from './calendar-access.ts';
import { grantsOf } from './calendar.repository.ts';
import { hasRight } from './privacy/index.ts';

/**
 * Calendars as one account sees them: its rights (resolved in one query
 * for all of them, group grants included), the events scope and state, and
 * (for the owner and managers only) who else it is shared with. Calendars
 * the account cannot see are left out.
 */
export async function renderCalendars(db: Db, accountId: string, ids: readonly string[]): Promise<Map<string, Calendar>> {
  const accesses = await resolveRights(db, accountId, { calendarIds: ids });
  const managed = [...accesses.values()].filter((a) => hasRight(a, 'manage')).map((a) => a.calendar.id);
  const grants = await grantsOf(db, managed);
  const states = await readScopes(
    db,
    [...accesses.keys()].map((id) => calendarScope(id)),
  );
  const out = new Map<string, Calendar>();
  for (const access of accesses.values()) out.set(access.calendar.id, renderCalendar(access, grants, states.get(calendarScope(access.calendar.id))?.modseq ?? 0));
  return out;
}

function renderCalendar(access: CalendarAccess, grants: Awaited<ReturnType<typeof grantsOf>>, modseq: number): Calendar {
  const row = access.calendar;
  const shareWith: Record<string, GrantInfo> | null = hasRight(access, 'manage')
    ? Object.fromEntries(
        grants.filter((g) => g.calendar_id === row.id).map((g) => [g.email, { right: g.access_right, delegate: g.is_delegate, privateAccess: g.private_access, grantee: g.grantee_kind }]),
      )
    : null;
  return {
    id: row.id,
    name: row.name,
    color: row.color,
    description: row.description,
    isDefault: row.is_default,
    owner: { id: row.account_id, email: row.owner_email },
    scope: calendarScope(row.id),
    state: encodeState(modseq),
    myRights: { right: access.right, mayReadPrivate: access.mayReadPrivate },
    shareWith,
  };
}
