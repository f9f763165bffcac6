import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { MaintenanceJob } from '../maintenance.ts';
import { calendarListScope, calendarScope } from '../sync/scope-id.ts';
import { raiseMinModseq } from '../sync/sync-scope.repository.ts';
import { CalendarLimits, DAY_MS } from './calendar-limits.ts';
import { pruneListTombstones } from './calendar.repository.ts';
import { lockEventsToExtend, pruneEventTombstones, setIndexBounds } from './event.repository.ts';
import type { IcalLimits } from './ical/index.ts';
import { workOwner, type IcalWorkerPool } from './ical-work/pool.ts';
import { insertInstances } from './instance.repository.ts';

const PRUNE_BATCH = 5_000;

/**
 * Deletes event and calendar-list tombstones older than the retention period
 * and raises each scope's min_modseq in the SAME transaction: a reader sees
 * either both the tombstones and the old min_modseq or neither, so a client
 * older than the pruned log always gets CANNOT_CALCULATE_CHANGES, never a
 * silently incomplete answer. Safe on several nodes at once (plain deletes).
 */
export async function pruneCalendarTombstones(db: Db, retentionDays: number, now: Date = new Date()): Promise<number> {
  const cutoff = new Date(now.getTime() - retentionDays * DAY_MS);
  let total = 0;
  for (;;) {
    const pruned = await db.transaction().execute(async (trx) => {
      const events = await pruneEventTombstones(trx, cutoff, PRUNE_BATCH);
      for (const { calendar_id, max_modseq } of events) await raiseMinModseq(trx, calendarScope(calendar_id), max_modseq);
      return events.length;
    });
    total += pruned;
    if (pruned === 0) break;
  }
  await db.transaction().execute(async (trx) => {
    for (const { account_id, max_modseq } of await pruneListTombstones(trx, cutoff)) await raiseMinModseq(trx, calendarListScope(account_id), max_modseq);
  });
  return total;
}

/**
 * Pushes the occurrence index of unbounded (or very long) series forward to
 * `now + horizonDays`. The index is not part of the sync state, so no modseq
 * moves; the event row lock (FOR UPDATE SKIP LOCKED) keeps this from racing a
 * writer replacing the same event's instances, and lets several nodes share
 * the work. Returns how many events were extended.
 */
export async function extendInstanceHorizon(db: Db, work: Pick<IcalWorkerPool, 'run'>, horizonDays: number, limits: IcalLimits, now: Date = new Date()): Promise<number> {
  const horizon = new Date(now.getTime() + horizonDays * DAY_MS);
  const due = new Date(horizon.getTime() - CalendarLimits.horizonSlackDays * DAY_MS);
  return db.transaction().execute(async (trx) => {
    const events = await lockEventsToExtend(trx, due, CalendarLimits.horizonJobBatch);
    for (const event of events) {
      // Planned in the worker pool: a dense series takes a while to expand, and the event loop serves every session.
      const plan = await work.run('extendIndex', { ics: event.ics!, from: event.expanded_until!, horizon, limits, maxRows: CalendarLimits.maxIndexedInstancesPerEvent }, workOwner.server);
      await insertInstances(trx, event.calendar_id, event.id, plan.rows);
      await setIndexBounds(trx, event.id, { until: plan.expandedUntil });
    }
    return events.length;
  });
}

export function calendarJobs(options: { retentionDays: number; horizonDays: number; limits: IcalLimits; icalWork: Pick<IcalWorkerPool, 'run'>; clock: () => Date }): MaintenanceJob[] {
  return [
    {
      name: 'calendar-tombstones',
      intervalMs: CalendarLimits.pruneJobIntervalMs,
      run: async (db: Db, log: Logger) => {
        const removed = await pruneCalendarTombstones(db, options.retentionDays, options.clock());
        if (removed > 0) log.info({ removed }, 'pruned calendar tombstones');
      },
    },
    {
      name: 'calendar-horizon',
      intervalMs: CalendarLimits.horizonJobIntervalMs,
      run: async (db: Db, log: Logger) => {
        let extended = 0;
        // Batches until nothing is due; bounded so one run cannot spin (a dense series needs several passes).
        for (let pass = 0; pass < 50; pass++) {
          const n = await extendInstanceHorizon(db, options.icalWork, options.horizonDays, options.limits, options.clock());
          extended += n;
          if (n === 0) break;
        }
        if (extended > 0) log.info({ extended }, 'extended the occurrence index horizon');
      },
    },
  ];
}
