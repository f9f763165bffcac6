import { sql, type Transaction } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';

/**
 * The per-scope change counter (DESIGN §4). Every write transaction calls
 * bumpScopes first: the UPDATE takes the scope row's lock and holds it until
 * commit, so within a scope commit order equals modseq order and a reader that
 * has seen N never later meets a committed N-1.
 */

export interface ScopeState {
  modseq: number;
  minModseq: number;
}

export async function createScope(trx: Db | Transaction<Database>, id: string): Promise<void> {
  await trx.insertInto('sync_scopes').values({ id }).onConflict((oc) => oc.column('id').doNothing()).execute();
}

/** A write named a scope that has no row (a calendar destroyed meanwhile, say). */
export class MissingScope extends Error {
  override readonly name = 'MissingScope';
  constructor(readonly scope: string) {
    super(`sync scope ${scope} does not exist`);
  }
}

/**
 * Bumps each scope's modseq and returns the new values, locking the rows in
 * sorted order. Writers call this only through ScopeWriter (scope-write.ts),
 * which keeps that order across the calls of one transaction.
 */
export async function bumpScopes(trx: Transaction<Database>, ids: readonly string[]): Promise<Map<string, number>> {
  const result = new Map<string, number>();
  for (const id of [...new Set(ids)].sort()) {
    const row = await trx
      .updateTable('sync_scopes')
      .set({ modseq: sql`modseq + 1` })
      .where('id', '=', id)
      .returning('modseq')
      .executeTakeFirst();
    if (!row) throw new MissingScope(id);
    result.set(id, row.modseq);
  }
  return result;
}

export async function readScope(db: Db | Transaction<Database>, id: string): Promise<ScopeState | undefined> {
  const row = await db.selectFrom('sync_scopes').select(['modseq', 'min_modseq']).where('id', '=', id).executeTakeFirst();
  return row ? { modseq: row.modseq, minModseq: row.min_modseq } : undefined;
}

export async function readScopes(db: Db, ids: readonly string[]): Promise<Map<string, ScopeState>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('sync_scopes').select(['id', 'modseq', 'min_modseq']).where('id', 'in', [...ids]).execute();
  return new Map(rows.map((r) => [r.id, { modseq: r.modseq, minModseq: r.min_modseq }]));
}

/** Removes a scope whose object is gone (a destroyed calendar), inside the transaction that destroys it. */
export async function deleteScope(trx: Db | Transaction<Database>, id: string): Promise<void> {
  await trx.deleteFrom('sync_scopes').where('id', '=', id).execute();
}

/** Raises min_modseq after tombstones up to `upTo` were pruned; never lowers it. */
export async function raiseMinModseq(trx: Db | Transaction<Database>, id: string, upTo: number): Promise<void> {
  await trx
    .updateTable('sync_scopes')
    .set({ min_modseq: sql`greatest(min_modseq, ${upTo})` })
    .where('id', '=', id)
    .execute();
}
