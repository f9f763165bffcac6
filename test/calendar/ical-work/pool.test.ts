import { afterEach, describe, expect, it } from 'vitest';
import { denseVtimezoneEvent } from '../../../bench/support/hostile-inputs.ts';
import { IcalWorkerPool } from '../../../server/calendar/ical-work/pool.ts';
import { defaultIcalLimits } from '../../../server/calendar/ical/index.ts';
import { createLogger } from '../../../server/log/logger.ts';
import { simpleEvent } from '../helpers.ts';

/** The worker-thread pool that keeps calendar parsing off the event loop: bounded queue, cut-off, recovery. */
const pools: IcalWorkerPool[] = [];
function pool(options: { size?: number; maxQueue?: number; taskTimeoutMs?: number } = {}): IcalWorkerPool {
  const created = new IcalWorkerPool({ size: 1, maxQueue: 8, taskTimeoutMs: 60_000, log: createLogger('silent'), ...options });
  pools.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

const input = (texts: string[], unbounded = false) => ({
  texts,
  limits: unbounded ? { ...defaultIcalLimits, maxExpansionSteps: Infinity } : defaultIcalLimits,
  maxStepsPerRequest: unbounded ? Infinity : 2_500_000,
  now: Date.parse('2026-06-01T00:00:00Z'),
  horizonDays: 60,
});

describe('calendar worker pool', () => {
  it('parses in a worker thread and returns plain results, refusals per object', async () => {
    const out = await pool().run('prepareWrites', input([simpleEvent({ uid: 'w1@h', rrule: 'FREQ=WEEKLY;COUNT=3' }), 'not iCalendar']));
    expect(out.results[0]).toMatchObject({ ok: true, obj: { uid: 'w1@h', firstStart: new Date('2026-12-01T10:00:00Z') } });
    expect(out.results[0]!.ok && out.results[0]!.index.rows).toHaveLength(0); // all three lie past the 60-day horizon
    expect(out.results[1]).toMatchObject({ ok: false, error: { code: 'INVALID_ICALENDAR' } });
  });

  it('refuses work past a full queue with UNAVAILABLE and a retry hint', async () => {
    const busy = pool({ maxQueue: 1 });
    await busy.run('prepareWrites', input([simpleEvent({ uid: 'start@h' })])); // the worker is up
    const slow = input([denseVtimezoneEvent('slow@h')]);
    const running = busy.run('prepareWrites', slow); // taken by the worker
    const queued = busy.run('prepareWrites', slow); // waits
    await expect(busy.run('prepareWrites', slow)).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 1000, details: { limit: 1 } });
    await expect(running).resolves.toBeDefined();
    await expect(queued).resolves.toBeDefined();
  });

  it('cuts off a task that overruns its deadline, then serves the next one on a fresh worker', async () => {
    const p = pool({ taskTimeoutMs: 300 });
    // With no budget the dense zone walks two million steps: far longer than the deadline.
    await expect(p.run('prepareWrites', input([denseVtimezoneEvent('endless@h', 'SECONDLY')], true))).rejects.toMatchObject({ code: 'TIMEOUT' });
    const out = await p.run('prepareWrites', input([simpleEvent({ uid: 'after@h' })]));
    expect(out.results[0]!.ok).toBe(true);
  });
});
