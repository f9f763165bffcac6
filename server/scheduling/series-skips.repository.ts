import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ExpandedInstance } from './room-booking-reach.ts';
import type { ResourceSeriesSkipRow } from './scheduling.table.ts';

/**
 * resource_series_skips (migration 4000): instances of a booked series its
 * rows did not get when they were extended, waiting for the room's answer
 * (series-skip-answers.ts). Plain functions; the claim/lease rules are those
 * of the iMIP outbox (outbox.repository.ts `claimDue`).
 */

/** A skip with its instance's times. */
export type SkipRow = ResourceSeriesSkipRow & { start: Date; end: Date };

/** Records skipped instances of a resource's copy (in the transaction that skipped them); one row per occurrence. */
export async function recordSkips(trx: Db, resourceId: string, copyEventId: string, skipped: readonly ExpandedInstance[]): Promise<void> {
  if (skipped.length === 0) return;
  await trx
    .insertInto('resource_series_skips')
    .values(
      skipped.map((r) => ({
        event_id: copyEventId,
        resource_id: resourceId,
        recurrence_id: r.recurrenceId,
        during: `[${r.start.toISOString()},${r.end.toISOString()})`,
        start_local: r.local.startLocal,
        end_local: r.local.endLocal,
        all_day: r.local.allDay,
        lease_until: null,
        leased_by: null,
        last_error: null,
      })),
    )
    .onConflict((oc) => oc.columns(['event_id', 'recurrence_id']).doNothing())
    .execute();
}

/** A copy's bookings are released (re-asked, declined, cancelled): what it skipped is no longer to answer. */
export async function forgetSkips(trx: Db, copyEventIds: readonly string[]): Promise<void> {
  if (copyEventIds.length === 0) return;
  await trx.deleteFrom('resource_series_skips').where('event_id', 'in', [...copyEventIds]).execute();
}

/**
 * Takes up to `limit` due skips for `node` until `leaseMs` from now, oldest
 * first. `for update skip locked`: two nodes claiming at once take different
 * rows; the lease keeps the others off after this statement commits, and a
 * node that died holding one gives it up when the lease runs out.
 */
export async function claimDueSkips(db: Db, node: string, leaseMs: number, limit: number): Promise<SkipRow[]> {
  const result = await sql<SkipRow>`
    update resource_series_skips s set lease_until = now() + ${`${leaseMs} milliseconds`}::interval, leased_by = ${node}, attempts = s.attempts + 1
    where s.id in (
      select id from resource_series_skips
      where next_attempt_at <= now() and (lease_until is null or lease_until < now())
      order by next_attempt_at, created_at
      limit ${limit}
      for update skip locked
    )
    returning s.*, lower(s.during) as start, upper(s.during) as end
  `.execute(db);
  return result.rows;
}

/** The skip as it is now (under the scope locks: gone when answered meanwhile, or when the copy's bookings were released). */
export async function findSkip(trx: Db, id: string): Promise<SkipRow | undefined> {
  return trx
    .selectFrom('resource_series_skips')
    .selectAll()
    .select([sql<Date>`lower(during)`.as('start'), sql<Date>`upper(during)`.as('end')])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function deleteSkip(trx: Db, id: string): Promise<void> {
  await trx.deleteFrom('resource_series_skips').where('id', '=', id).execute();
}

/** A failed answer: due again after `delayMs` (only while this node still holds the lease). */
export async function markSkipRetry(db: Db, id: string, node: string, delayMs: number, error: string): Promise<void> {
  await db
    .updateTable('resource_series_skips')
    .set({ next_attempt_at: sql<Date>`now() + ${`${delayMs} milliseconds`}::interval`, lease_until: null, leased_by: null, last_error: error.slice(0, 1000) })
    .where('id', '=', id)
    .where('leased_by', '=', node)
    .execute();
}
