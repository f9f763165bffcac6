import type { Transaction } from 'kysely';
import { watchGroupAccess } from '../calendar/group-access.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { bumpScope, createScope } from '../sync/sync-scope.repository.ts';
import { galScopeId } from './directory.table.ts';

/**
 * Announces that a GAL scope committed `modseq`. On a node this is
 * `bus.publish({kind:'scope', ...})`; the CLI (no bus) sends a NOTIFY after
 * commit instead. Called after commit only.
 */
export type ScopePublisher = (scope: string, modseq: number) => void | Promise<void>;

/** Thrown inside a GAL write to roll it back without an error (nothing changed). */
export class NothingChanged extends Error {
  override readonly name = 'NothingChanged';
}

/**
 * One GAL write (DESIGN §4): bumps the domain's scope first (its row lock
 * serialises every writer of this GAL until commit, which also makes the
 * service's uniqueness and cycle checks race-free), hands the new modseq to
 * `work` to stamp rows with, commits, then publishes the hint. If `work`
 * throws NothingChanged the transaction rolls back and `unchanged` is
 * returned: the scope does not move for a no-op. Calendar lists of people
 * whose group grants the write changed are updated in the same transaction
 * and published with it (calendar/group-access.ts).
 */
export async function writeGal<T>(
  db: Db,
  publish: ScopePublisher,
  domainId: string,
  work: (trx: Transaction<Database>, modseq: number) => Promise<T>,
  unchanged?: () => T,
): Promise<T> {
  const scope = galScopeId(domainId);
  let modseq = 0;
  let result: T;
  let lists = new Map<string, number>();
  try {
    result = await db.transaction().execute(async (trx) => {
      // Domains get their scope when created (and in the migration); this covers any made another way.
      await createScope(trx, scope);
      modseq = await bumpScope(trx, scope);
      const groupAccess = await watchGroupAccess(trx, domainId);
      const done = await work(trx, modseq);
      if (groupAccess) lists = await groupAccess();
      return done;
    });
  } catch (error) {
    if (error instanceof NothingChanged && unchanged) return unchanged();
    throw error;
  }
  await publish(scope, modseq);
  for (const [listScope, listModseq] of lists) await publish(listScope, listModseq);
  return result;
}
