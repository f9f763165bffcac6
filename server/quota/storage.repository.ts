import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/**
 * The account's storage row, locked until the transaction ends (created if
 * missing): every write that changes what an account stores holds it, so
 * two of them cannot both pass the quota.
 */
export async function lockStorage(db: Db, accountId: string): Promise<{ used_bytes: number; quota_bytes: number | null }> {
  return db
    .insertInto('account_storage')
    .values({ account_id: accountId, used_bytes: 0 })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ used_bytes: sql<number>`account_storage.used_bytes` }))
    .returning(['used_bytes', 'quota_bytes'])
    .executeTakeFirstOrThrow();
}

/**
 * The storage rows of several accounts, locked in ascending account order in
 * ONE statement (created if missing): a write charging several accounts (an
 * organizer and their attendees' copies) cannot deadlock with another that
 * charges some of the same accounts.
 */
export async function lockStorageOfMany(db: Db, accountIds: readonly string[]): Promise<Array<{ account_id: string; used_bytes: number; quota_bytes: number | null }>> {
  const ids = [...new Set(accountIds)].sort();
  if (ids.length === 0) return [];
  const result = await sql<{ account_id: string; used_bytes: number; quota_bytes: number | null }>`
    insert into account_storage (account_id, used_bytes)
    select id, 0 from unnest(${sql.val(ids)}::uuid[]) as t(id) order by id
    on conflict (account_id) do update set used_bytes = account_storage.used_bytes
    returning account_id, used_bytes, quota_bytes`.execute(db);
  return result.rows.map((r) => ({ ...r, used_bytes: Number(r.used_bytes), quota_bytes: r.quota_bytes === null ? null : Number(r.quota_bytes) }));
}

/** Adds each account's change of usage in one statement. */
export async function addStorageUsedOfMany(db: Db, deltas: ReadonlyMap<string, number>): Promise<void> {
  const changed = [...deltas].filter(([, d]) => d !== 0);
  if (changed.length === 0) return;
  await sql`
    update account_storage s set used_bytes = s.used_bytes + v.d
      from unnest(${sql.val(changed.map(([id]) => id))}::uuid[], ${sql.val(changed.map(([, d]) => d))}::bigint[]) as v(id, d)
     where s.account_id = v.id`.execute(db);
}

export async function addStorageUsed(db: Db, accountId: string, delta: number): Promise<void> {
  await db.updateTable('account_storage').set({ used_bytes: sql<number>`used_bytes + ${delta}` }).where('account_id', '=', accountId).execute();
}

export async function readStorage(db: Db, accountId: string): Promise<{ used_bytes: number; quota_bytes: number | null } | undefined> {
  return db.selectFrom('account_storage').select(['used_bytes', 'quota_bytes']).where('account_id', '=', accountId).executeTakeFirst();
}

export async function setStorageQuota(db: Db, accountId: string, quotaBytes: number | null): Promise<void> {
  await db
    .insertInto('account_storage')
    .values({ account_id: accountId, used_bytes: 0, quota_bytes: quotaBytes })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ quota_bytes: quotaBytes }))
    .execute();
}

/** Bytes the live events of one calendar hold (what destroying it frees). */
export async function calendarBytes(db: Db, calendarId: string): Promise<number> {
  const row = await db
    .selectFrom('calendar_events')
    .select(sql<number>`coalesce(sum(octet_length(ics)), 0)::bigint`.as('bytes'))
    .where('calendar_id', '=', calendarId)
    .where('deleted', '=', false)
    .executeTakeFirstOrThrow();
  return row.bytes;
}
