import type { Db } from '../db/database.ts';
import type { MaintenanceJob } from '../maintenance.ts';
import { galScope } from '../sync/scope-id.ts';
import { raiseMinModseq } from '../sync/sync-scope.repository.ts';
import { pruneTombstones } from './directory.repository.ts';

/** Tombstones removed per transaction, so a large backlog never holds locks long. */
const PRUNE_BATCH = 1_000;

/**
 * Removes GAL tombstones older than the retention period (DESIGN §4; 30 days
 * by default) and raises each scope's min_modseq in the same transaction, so
 * a client whose state predates a removed tombstone gets
 * CANNOT_CALCULATE_CHANGES instead of silently missing a delete. Safe on
 * several nodes at once: a tombstone is deleted once, and min_modseq only
 * rises.
 */
export function galTombstonePruneJob(options: { retentionMs: number; intervalMs: number }): MaintenanceJob {
  return {
    name: 'gal-tombstones',
    intervalMs: options.intervalMs,
    run: async (db, log) => {
      const removed = await pruneGalTombstones(db, new Date(Date.now() - options.retentionMs));
      if (removed > 0) log.info({ removed }, 'pruned GAL tombstones');
    },
  };
}

/** Prunes every GAL tombstone deleted before `before`; returns how many went. */
export async function pruneGalTombstones(db: Db, before: Date): Promise<number> {
  let total = 0;
  for (;;) {
    const count = await db.transaction().execute(async (trx) => {
      const pruned = await pruneTombstones(trx, before, PRUNE_BATCH);
      for (const [domainId, modseq] of pruned.byDomain) await raiseMinModseq(trx, galScope(domainId), modseq);
      return pruned.count;
    });
    total += count;
    if (count < PRUNE_BATCH) return total;
  }
}
