import { calendarScope } from '../sync/scope-id.ts';
import type { ScopeWriter } from '../sync/scope-write.ts';
import { lockScopes, resolveRightsOfMany } from './calendar-access.ts';
import { stampLists } from './calendar-lists.ts';
import { domainHasGroupGrants, groupAccessChanges, snapshotGroupAccess } from './rights.repository.ts';

/**
 * Group grants follow membership (DESIGN §6). Every GAL write — an admin
 * changing members, deleting an entry, an import batch, an account taking
 * over a contact — may change who belongs to a group that holds a grant,
 * nested groups included. Rather than teach each of those writers, the GAL
 * write calls this around its work: a snapshot of what group grants give in
 * the domain before, a comparison after (both in PostgreSQL, however large
 * the groups), and for each (account, calendar) that changed, the account's
 * calendar list is stamped in the same transaction. Domains whose groups
 * hold no grant pay one indexed probe.
 *
 * Before commit the changed calendars' scope rows are locked in share mode:
 * an event writer bumps that row first and checks its right after, so a
 * membership removal that commits first always wins against a write.
 *
 * Call `watchGroupAccess` after the GAL scope is bumped (its lock keeps
 * other GAL writers of the domain out), then the returned function after
 * the work; the list scopes it bumps go through the transaction's
 * ScopeWriter, whose hints follow the commit.
 */
export async function watchGroupAccess(writer: ScopeWriter, domainId: string): Promise<(() => Promise<Map<string, number>>) | undefined> {
  const trx = writer.trx;
  if (!(await domainHasGroupGrants(trx, domainId))) return undefined;
  await snapshotGroupAccess(trx, domainId);
  return async () => {
    const changed = await groupAccessChanges(trx, domainId);
    if (changed.length === 0) return new Map();
    const calendarIds = [...new Set(changed.map((c) => c.calendar_id))];
    await lockScopes(trx, calendarIds.map(calendarScope), 'share');
    const after = await resolveRightsOfMany(trx, [...new Set(changed.map((c) => c.account_id))], { calendarIds });
    return stampLists(
      writer,
      changed.map((c) => ({ accountId: c.account_id, calendarId: c.calendar_id, live: after.get(c.account_id)?.has(c.calendar_id) ?? false })),
      { afterGal: true },
    );
  };
}
