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
