import { deleteDeadResumeTokens } from './accounts/account.repository.ts';
import type { Db } from './db/database.ts';
import type { Logger } from './log/logger.ts';

export interface MaintenanceJob {
  name: string;
  intervalMs: number;
  run(db: Db, log: Logger): Promise<void>;
}

/** Expired and revoked resume tokens (account disabled, password changed since) every 10 minutes. */
export const resumeTokenPruneJob: MaintenanceJob = {
  name: 'dead-resume-tokens',
  intervalMs: 10 * 60_000,
  run: async (db, log) => {
    const removed = await deleteDeadResumeTokens(db);
    if (removed > 0) log.info({ removed }, 'removed expired and revoked resume tokens');
  },
};

/**
 * Periodic housekeeping. Every node runs the jobs; each must be safe to run
 * concurrently on several nodes (plain idempotent deletes, or guarded by an
 * advisory lock).
 */
export class MaintenanceJobs {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly jobs: MaintenanceJob[] = [resumeTokenPruneJob];

  constructor(
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  add(job: MaintenanceJob): void {
    this.jobs.push(job);
  }

  start(): void {
    for (const job of this.jobs) {
      const timer = setInterval(() => {
        job.run(this.db, this.log).catch((error: unknown) => this.log.warn({ err: error, job: job.name }, 'maintenance job failed'));
      }, job.intervalMs);
      timer.unref();
      this.timers.push(timer);
    }
  }

  stop(): void {
    for (const timer of this.timers) clearInterval(timer);
  }
}
