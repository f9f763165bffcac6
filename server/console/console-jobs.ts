import type { MaintenanceJob } from '../maintenance.ts';
import { pruneConsoleSessions } from './console.repository.ts';

/** Removes console sessions past their idle timeout or lifetime (a lookup refuses them anyway; this keeps the table small). */
export function consoleSessionPruneJob(options: { idleMs: number; maxMs: number }): MaintenanceJob {
  return {
    name: 'console-sessions',
    intervalMs: 10 * 60_000,
    run: async (db, log) => {
      const removed = await pruneConsoleSessions(db, options.idleMs, options.maxMs);
      if (removed > 0) log.debug({ removed }, 'removed expired console sessions');
    },
  };
}
