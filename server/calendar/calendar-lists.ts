import { sql } from 'kysely';
import { calendarListScope } from '../sync/scope-id.ts';
import type { ScopeWriter } from '../sync/scope-write.ts';
import type { CalendarAccess } from './calendar-access.ts';
import { hasRight } from './privacy/index.ts';

/**
 * Keeping calendar lists in line with rights. A calendar is in an account's
 * list (scope calendarListScope(accountId)) exactly while the account may see it;
 * whatever changes that — a share, a revoke, a group membership, a
 * destroy — stamps the entries of the accounts concerned with their list
 * scope's new modseq, in the transaction that made the change. Their
 * sessions then get the list change pushed, and the push hub re-checks what
 * they follow (app.ts registers `calendars` as an access scope).
 */

export interface ListStamp {
  accountId: string;
  calendarId: string;
  /** false: the account no longer sees the calendar (a tombstone in its list). */
  live: boolean;
}

/**
 * Bumps the accounts' list scopes through the transaction's ScopeWriter
 * (sorted; hints published after commit) and stamps the entries in one
 * statement. `afterGal`: the caller holds a GAL scope (a membership change),
 * the one documented exception to ascending bump order.
 */
export async function stampLists(writer: ScopeWriter, stamps: readonly ListStamp[], options: { afterGal?: boolean } = {}): Promise<Map<string, number>> {
  if (stamps.length === 0) return new Map();
  const trx = writer.trx;
  const scopes = [...new Set(stamps.map((s) => calendarListScope(s.accountId)))];
  // An account being created (taking over a contact already in a granted group) may not have its list scope yet.
  await sql`insert into sync_scopes (id) select unnest(${sql.val(scopes)}::text[]) on conflict (id) do nothing`.execute(trx);
  const modseqs = options.afterGal ? await writer.bumpListsAfterGal(scopes) : await writer.bumpAll(scopes);
  await sql`
    insert into calendar_list_entries (account_id, calendar_id, modseq, created_modseq, deleted, deleted_at)
    select t.a, t.c, t.m, t.m, not t.live, case when t.live then null else now() end
      from unnest(${sql.val(stamps.map((s) => s.accountId))}::uuid[], ${sql.val(stamps.map((s) => s.calendarId))}::uuid[],
                  ${sql.val(stamps.map((s) => modseqs.get(calendarListScope(s.accountId))!))}::bigint[], ${sql.val(stamps.map((s) => s.live))}::boolean[]) as t(a, c, m, live)
    on conflict (account_id, calendar_id) do update set
      modseq = excluded.modseq, deleted = excluded.deleted, deleted_at = excluded.deleted_at,
      -- An entry that comes back after a tombstone is new to the client again.
      created_modseq = case when calendar_list_entries.deleted then excluded.created_modseq else calendar_list_entries.created_modseq end
  `.execute(trx);
  return modseqs;
}

/** Did the account's view of the calendar change between two resolutions (presence, right, private access)? */
function sameAccess(a: CalendarAccess | undefined, b: CalendarAccess | undefined): boolean {
  return a?.right === b?.right && a?.mayReadPrivate === b?.mayReadPrivate;
}

/**
 * The stamps for one calendar given each candidate's access before and
 * after a change: everyone whose access changed; with `renamed`, everyone
 * who sees it after (its name, colour or description show in their list);
 * with `regranted`, the managers before and after (they see `shareWith`).
 */
export function stampsFor(
  calendarId: string,
  candidates: Iterable<string>,
  before: ReadonlyMap<string, ReadonlyMap<string, CalendarAccess>>,
  after: ReadonlyMap<string, ReadonlyMap<string, CalendarAccess>>,
  options: { renamed: boolean; regranted: boolean },
): ListStamp[] {
  const stamps: ListStamp[] = [];
  for (const accountId of new Set(candidates)) {
    const was = before.get(accountId)?.get(calendarId);
    const now = after.get(accountId)?.get(calendarId);
    const manages = (was !== undefined && hasRight(was, 'manage')) || (now !== undefined && hasRight(now, 'manage'));
    if (!sameAccess(was, now) || (options.renamed && now) || (options.regranted && manages)) {
      if (now || was) stamps.push({ accountId, calendarId, live: now !== undefined });
    }
  }
  return stamps;
}

