import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Insertable } from 'kysely';
import type { InboxMessageRow, InboxMessageTable } from './inbox.table.ts';

/** inbox_messages: plain functions; writers stamp rows with the modseq of `inbox:<accountId>` they bumped. */

/** A message as the scheduler writes it (the modseq and timestamps are stamped here). */
export type NewInboxMessage = Omit<Insertable<InboxMessageTable>, 'id' | 'modseq' | 'created_modseq' | 'deleted' | 'deleted_at' | 'created_at'>;

export async function insertInboxMessages(db: Db, messages: ReadonlyArray<NewInboxMessage & { modseq: number }>): Promise<void> {
  if (messages.length === 0) return;
  await db
    .insertInto('inbox_messages')
    .values(messages.map((m) => ({ partstat: null, recurrence_id: null, ...m, created_modseq: m.modseq })))
    .execute();
}

/** Live messages by id, or (ids null) the first `limit` of all in id order. */
export async function findLiveMessages(db: Db, accountId: string, ids: readonly string[] | null, limit: number): Promise<InboxMessageRow[]> {
  let query = db.selectFrom('inbox_messages').selectAll().where('account_id', '=', accountId).where('deleted', '=', false).orderBy('id').limit(limit);
  if (ids) {
    if (ids.length === 0) return [];
    query = query.where('id', 'in', [...ids]);
  }
  return query.execute();
}

export async function tombstoneMessages(db: Db, accountId: string, ids: readonly string[], modseq: number): Promise<string[]> {
  if (ids.length === 0) return [];
  const rows = await db
    .updateTable('inbox_messages')
    .set({ deleted: true, deleted_at: sql<Date>`now()`, modseq })
    .where('account_id', '=', accountId)
    .where('deleted', '=', false)
    .where('id', 'in', [...ids])
    .returning('id')
    .execute();
  return rows.map((r) => r.id);
}

export async function inboxChangesPage(db: Db, accountId: string, after: { modseq: number; id: string | null }, upTo: number, limit: number): Promise<InboxMessageRow[]> {
  let query = db.selectFrom('inbox_messages').selectAll().where('account_id', '=', accountId).where('modseq', '<=', upTo).orderBy('modseq').orderBy('id').limit(limit);
  query = after.id ? query.where(sql<boolean>`(modseq, id) > (${after.modseq}, ${after.id}::uuid)`) : query.where('modseq', '>', after.modseq);
  return query.execute();
}

export async function liveInboxPage(db: Db, accountId: string, afterId: string | null, upTo: number, limit: number): Promise<InboxMessageRow[]> {
  let query = db
    .selectFrom('inbox_messages')
    .selectAll()
    .where('account_id', '=', accountId)
    .where('deleted', '=', false)
    .where('created_modseq', '<=', upTo)
    .orderBy('id')
    .limit(limit);
  if (afterId) query = query.where('id', '>', afterId);
  return query.execute();
}
