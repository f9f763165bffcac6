import { sql } from 'kysely';
import { ErrorCode, type SetError } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';

/**
 * The per-organizer invitation rate limit (docs/protocol.md §Scheduling,
 * docs/security.md): a token bucket of attendee copies, `perMinute` deep,
 * refilled at `perMinute` per minute. Every organizer write that schedules
 * takes one token per copy it writes (people and resources; an update counts
 * again, since it messages everyone again). The bucket is a row of
 * `invitation_budgets`, locked until the organizer's transaction ends, so
 * all nodes of a cluster draw on the same bucket and two writes cannot both
 * spend the last tokens. A write needing more copies than the bucket holds
 * is refused whole (RATE_LIMITED, `details.retryAfterMs`) and takes nothing;
 * one larger than the bucket's depth waits for a full bucket and empties it.
 */
export async function takeInvitations(trx: Db, accountId: string, copies: number, perMinute: number, now: Date): Promise<SetError | undefined> {
  if (copies === 0) return undefined;
  const row = await trx
    .insertInto('invitation_budgets')
    .values({ account_id: accountId, tokens: perMinute, refreshed_at: now })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ tokens: sql<number>`invitation_budgets.tokens` }))
    .returning(['tokens', 'refreshed_at'])
    .executeTakeFirstOrThrow();
  const elapsedMs = Math.max(0, now.getTime() - row.refreshed_at.getTime());
  const available = Math.min(perMinute, row.tokens + (elapsedMs * perMinute) / 60_000);
  const needed = Math.min(copies, perMinute);
  if (needed > available) {
    const retryAfterMs = Math.ceil(((needed - available) * 60_000) / perMinute);
    return {
      code: ErrorCode.RATE_LIMITED,
      message: `this invitation writes ${copies} attendee copies; the organizer may write ${perMinute} per minute and has ${Math.floor(available)} left now`,
      details: { limit: perMinute, copies, retryAfterMs },
    };
  }
  await trx
    .updateTable('invitation_budgets')
    .set({ tokens: available - needed, refreshed_at: now })
    .where('account_id', '=', accountId)
    .execute();
  return undefined;
}
