import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Insertable } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ImipOutboxTable, OutboxRow, OutboxState } from './outbox.table.ts';

/** imip_outbox: plain functions. The claim/lease rules are described in outbox-sender.ts. */

export type NewOutboxMessage = Omit<Insertable<ImipOutboxTable>, 'id' | 'seq' | 'message_id' | 'state' | 'attempts' | 'next_attempt_at' | 'lease_until' | 'leased_by' | 'last_error' | 'created_at' | 'sent_at' | 'dead_at' | 'expires_at'>;

/** Queues messages (in the caller's transaction); each gets its Message-ID now, so a resend after a lease expiry repeats it. */
export async function insertOutbox(db: Db, messages: readonly NewOutboxMessage[], deadAfterMs: number): Promise<void> {
  if (messages.length === 0) return;
  await db
    .insertInto('imip_outbox')
    .values(messages.map((m) => ({ ...m, message_id: `<${randomUUID()}@${m.sender.split('@')[1] ?? 'dmci.invalid'}>`, expires_at: sql<Date>`now() + ${`${deadAfterMs} milliseconds`}::interval` })))
    .execute();
}

/**
 * Takes up to `limit` due messages for `node` until `leaseMs` from now: a
 * pending row whose next attempt is due and whose lease (if any) ran out,
 * and that no earlier pending row to the same recipient about the same UID
 * precedes (`seq`: a CANCEL of the series reaches the receiver before the
 * REQUEST of some occurrences queued after it; a dead row holds nothing up).
 * `for update skip locked`: two nodes claiming at once take different rows;
 * the lease then keeps others off the row after this transaction commits.
 */
export async function claimDue(db: Db, node: string, leaseMs: number, limit: number): Promise<OutboxRow[]> {
  const result = await sql<OutboxRow>`
    update imip_outbox o set lease_until = now() + ${`${leaseMs} milliseconds`}::interval, leased_by = ${node}, attempts = o.attempts + 1
    where o.id in (
      select id from imip_outbox
      where state = 'pending' and next_attempt_at <= now() and (lease_until is null or lease_until < now())
        and not exists (select 1 from imip_outbox e where e.state = 'pending' and e.recipient = imip_outbox.recipient and e.uid = imip_outbox.uid and e.seq < imip_outbox.seq)
      order by next_attempt_at
      limit ${limit}
      for update skip locked
    )
    returning o.*
  `.execute(db);
  return result.rows;
}

/** Delivered: only while this node still holds the lease (false: it expired and the row was taken over). */
export async function markSent(db: Db, id: string, node: string): Promise<boolean> {
  const result = await db
    .updateTable('imip_outbox')
    .set({ state: 'sent', sent_at: sql<Date>`now()`, lease_until: null, last_error: null })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .where('state', '=', 'pending')
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** A failed attempt: back to pending, due again after `delayMs`. */
export async function markRetry(db: Db, id: string, node: string, delayMs: number, error: string): Promise<void> {
  await db
    .updateTable('imip_outbox')
    .set({ next_attempt_at: sql<Date>`now() + ${`${delayMs} milliseconds`}::interval`, lease_until: null, last_error: error })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .where('state', '=', 'pending')
    .execute();
}

/** Given up: returns the row when this call made it dead (so its inbox message is written once). */
export async function markDead(db: Db, id: string, node: string, error: string): Promise<OutboxRow | undefined> {
  return db
    .updateTable('imip_outbox')
    .set({ state: 'dead', dead_at: sql<Date>`now()`, lease_until: null, last_error: error })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .where('state', '=', 'pending')
    .returningAll()
    .executeTakeFirst();
}

/** Dead (or pending) messages back to pending, due now, attempts from zero (`dmci outbox retry`). */
export async function requeue(db: Db, ids: readonly string[] | 'dead', deadAfterMs: number): Promise<number> {
  let query = db.updateTable('imip_outbox').set({
    state: 'pending',
    next_attempt_at: sql<Date>`now()`,
    attempts: 0,
    lease_until: null,
    dead_at: null,
    expires_at: sql<Date>`now() + ${`${deadAfterMs} milliseconds`}::interval`,
  });
  query = ids === 'dead' ? query.where('state', '=', 'dead') : ids.length === 0 ? query.where(sql<boolean>`false`) : query.where('id', 'in', [...ids]).where('state', '!=', 'sent');
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows);
}

export async function listOutbox(db: Db, state: OutboxState | null, limit: number): Promise<OutboxRow[]> {
  let query = db.selectFrom('imip_outbox').selectAll().orderBy('created_at', 'desc').orderBy('id').limit(limit);
  if (state) query = query.where('state', '=', state);
  return query.execute();
}

export async function countPending(db: Db): Promise<number> {
  const row = await db.selectFrom('imip_outbox').select((eb) => eb.fn.countAll<string>().as('n')).where('state', '=', 'pending').executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Sent messages older than the retention period (dead ones stay until retried or pruned by an admin). */
export async function pruneSent(db: Db, retentionDays: number): Promise<number> {
  const result = await db
    .deleteFrom('imip_outbox')
    .where('state', '=', 'sent')
    .where('sent_at', '<', sql<Date>`now() - ${`${retentionDays} days`}::interval`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
