import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AccessRight, CalendarRow, GranteeKind, NewCalendarRow } from './calendar.table.ts';

/** Calendars, grants and the per-account calendar list. Plain functions; `db` may be a transaction. */

export async function insertCalendar(db: Db, row: NewCalendarRow): Promise<CalendarRow> {
  return db.insertInto('calendars').values(row).returningAll().executeTakeFirstOrThrow();
}

export async function findCalendar(db: Db, id: string): Promise<CalendarRow | undefined> {
  return db.selectFrom('calendars').selectAll().where('id', '=', id).executeTakeFirst();
}

/**
 * Locks a calendar row for a metadata change. FOR NO KEY UPDATE does not
 * conflict with the key-share locks event inserts take, so event writers
 * never wait on it.
 */
export async function lockCalendar(db: Db, id: string, mode: 'no key update' | 'update'): Promise<CalendarRow | undefined> {
  const query = db.selectFrom('calendars').selectAll().where('id', '=', id);
  return (mode === 'update' ? query.forUpdate() : query.forNoKeyUpdate()).executeTakeFirst();
}

export async function countCalendarsOf(db: Db, accountId: string): Promise<number> {
  const row = await db.selectFrom('calendars').select(sql<number>`count(*)::int`.as('n')).where('account_id', '=', accountId).executeTakeFirstOrThrow();
  return row.n;
}

export async function updateCalendarRow(db: Db, id: string, changes: { name?: string; color?: string | null; description?: string | null }): Promise<void> {
  await db.updateTable('calendars').set({ ...changes, updated_at: sql`now()` }).where('id', '=', id).execute();
}

export async function deleteCalendarRow(db: Db, id: string): Promise<void> {
  await db.deleteFrom('calendars').where('id', '=', id).execute();
}

// ---- grants (resolved by rights.repository.ts) ----

/**
 * The account a calendar of `ownerId` may be shared with, by email: enabled,
 * not hidden from its GAL, and in the owner's domain — or in another domain
 * when both domains allow cross-domain sharing. Undefined otherwise, for
 * every reason alike, so the answer never tells whether the account exists.
 */
export async function findShareableAccount(db: Db, email: string, ownerId: string): Promise<{ id: string } | undefined> {
  return db
    .selectFrom('accounts as a')
    .innerJoin('domains as d', 'd.id', 'a.domain_id')
    .innerJoin('accounts as owner', (join) => join.on('owner.id', '=', ownerId))
    .innerJoin('domains as od', 'od.id', 'owner.domain_id')
    .select('a.id')
    .where('a.email', '=', email.toLowerCase())
    .where('a.enabled', '=', true)
    .where((eb) => eb.or([eb('a.domain_id', '=', eb.ref('owner.domain_id')), eb.and([eb('d.cross_domain_sharing', '=', true), eb('od.cross_domain_sharing', '=', true)])]))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('directory_entries as e').select('e.id').whereRef('e.account_id', '=', 'a.id').where('e.hidden', '=', true))))
    .executeTakeFirst();
}

export interface GrantWithEmail {
  calendar_id: string;
  grantee_kind: GranteeKind;
  grantee_id: string;
  /** The account's email, or the group's (its id when the group has none). */
  email: string;
  access_right: AccessRight;
  is_delegate: boolean;
  private_access: boolean;
}

/** The calendars' grants to accounts and to live GAL groups, by email. */
export async function grantsOf(db: Db, calendarIds: readonly string[]): Promise<GrantWithEmail[]> {
  if (calendarIds.length === 0) return [];
  const result = await sql<GrantWithEmail>`
    select g.calendar_id, g.grantee_kind, g.grantee_id, coalesce(a.email, e.email, e.id::text) as email, g.access_right, g.is_delegate, g.private_access
      from calendar_grants g
      left join accounts a on g.grantee_kind = 'account' and a.id = g.grantee_id
      left join directory_entries e on g.grantee_kind = 'group' and e.id = g.grantee_id and not e.deleted
     where g.calendar_id = any(${sql.val([...calendarIds])}::uuid[]) and (a.id is not null or e.id is not null)
     order by 4`.execute(db);
  return result.rows;
}

export async function upsertGrant(db: Db, calendarId: string, grantee: { kind: GranteeKind; id: string }, grant: { right: AccessRight; delegate: boolean; privateAccess: boolean }): Promise<void> {
  await db
    .insertInto('calendar_grants')
    .values({ calendar_id: calendarId, grantee_kind: grantee.kind, grantee_id: grantee.id, access_right: grant.right, is_delegate: grant.delegate, private_access: grant.privateAccess })
    .onConflict((oc) =>
      oc.columns(['calendar_id', 'grantee_kind', 'grantee_id']).doUpdateSet({ access_right: grant.right, is_delegate: grant.delegate, private_access: grant.privateAccess }),
    )
    .execute();
}

export async function deleteGrant(db: Db, calendarId: string, grantee: { kind: GranteeKind; id: string }): Promise<void> {
  await db.deleteFrom('calendar_grants').where('calendar_id', '=', calendarId).where('grantee_kind', '=', grantee.kind).where('grantee_id', '=', grantee.id).execute();
}

// ---- the per-account calendar list (its scope: calendarListScope(accountId)) ----

/** Stamps (or tombstones) the calendar in each account's list with that list scope's new modseq. */
export async function stampListEntries(db: Db, calendarId: string, modseqByAccount: ReadonlyMap<string, number>, deleted: boolean): Promise<void> {
  for (const [accountId, modseq] of modseqByAccount) {
    await db
      .insertInto('calendar_list_entries')
      .values({ account_id: accountId, calendar_id: calendarId, modseq, created_modseq: modseq, deleted, deleted_at: deleted ? sql<Date>`now()` : null })
      .onConflict((oc) =>
        oc.columns(['account_id', 'calendar_id']).doUpdateSet({
          modseq,
          deleted,
          deleted_at: deleted ? sql<Date>`now()` : null,
          // An entry that comes back after a tombstone is new to the client again.
          created_modseq: sql<number>`case when calendar_list_entries.deleted then excluded.created_modseq else calendar_list_entries.created_modseq end`,
        }),
      )
      .execute();
  }
}

export async function liveListEntryIds(db: Db, accountId: string): Promise<string[]> {
  const rows = await db.selectFrom('calendar_list_entries').select('calendar_id').where('account_id', '=', accountId).where('deleted', '=', false).execute();
  return rows.map((r) => r.calendar_id);
}

export async function listEntryChangesPage(db: Db, accountId: string, after: { modseq: number; id: string | null }, upTo: number, limit: number) {
  let query = db
    .selectFrom('calendar_list_entries')
    .select(['calendar_id', 'modseq', 'created_modseq', 'deleted'])
    .where('account_id', '=', accountId)
    .where('modseq', '<=', upTo)
    .orderBy('modseq')
    .orderBy('calendar_id')
    .limit(limit);
  query = after.id
    ? query.where(sql<boolean>`(modseq, calendar_id) > (${after.modseq}, ${after.id}::uuid)`)
    : query.where('modseq', '>', after.modseq);
  return query.execute();
}

/** A full sync of the list: live entries that existed at `pinned`, after `afterId`, by calendar id. */
export async function liveListEntriesPage(db: Db, accountId: string, pinned: number, afterId: string | null, limit: number) {
  let query = db
    .selectFrom('calendar_list_entries')
    .select(['calendar_id', 'modseq', 'created_modseq', 'deleted'])
    .where('account_id', '=', accountId)
    .where('deleted', '=', false)
    .where('created_modseq', '<=', pinned)
    .orderBy('calendar_id')
    .limit(limit);
  if (afterId) query = query.where('calendar_id', '>', afterId);
  return query.execute();
}

/** Deletes list tombstones older than the cutoff; returns the highest pruned modseq per account. */
export async function pruneListTombstones(db: Db, cutoff: Date): Promise<Array<{ account_id: string; max_modseq: number }>> {
  const result = await sql<{ account_id: string; max_modseq: number }>`
    with gone as (delete from calendar_list_entries where deleted and deleted_at < ${cutoff} returning account_id, modseq)
    select account_id, max(modseq)::bigint as max_modseq from gone group by account_id
  `.execute(db);
  return result.rows;
}
