import { afterEach, describe, expect, it } from 'vitest';
import { denseVtimezoneEvent } from '../../../bench/support/hostile-inputs.ts';
import { compiledWorkerUrl } from '../../../server/calendar/ical-work/compiled-worker.ts';
import { IcalWorkerPool, workOwner } from '../../../server/calendar/ical-work/pool.ts';
import { defaultIcalLimits } from '../../../server/calendar/ical/index.ts';
import { createLogger } from '../../../server/log/logger.ts';
import { simpleEvent } from '../helpers.ts';

/** The worker-thread pool that keeps calendar parsing off the event loop: bounded queues, fairness between accounts, cut-off, recovery. */
const pools: IcalWorkerPool[] = [];
function pool(options: { size?: number; maxQueue?: number; maxQueuePerOwner?: number; taskTimeoutMs?: number; fromSource?: boolean } = {}): IcalWorkerPool {
  const created = new IcalWorkerPool({ size: 1, maxQueue: 8, taskTimeoutMs: 60_000, log: createLogger('silent'), ...options });
  pools.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

const [A, B, C] = ['a', 'b', 'c'].map((id) => workOwner.account(id)) as [string, string, string];

const input = (texts: string[], unbounded = false) => ({
  texts,
  limits: unbounded ? { ...defaultIcalLimits, maxExpansionSteps: Infinity } : defaultIcalLimits,
  maxStepsPerRequest: unbounded ? Infinity : 2_500_000,
  now: Date.parse('2026-06-01T00:00:00Z'),
  horizonDays: 60,
});

describe('calendar worker pool', () => {
  it('parses in a worker thread and returns plain results, refusals per object', async () => {
    // Under vitest the pool loads the run's compiled worker (test/helpers/prebuilt-bins.ts); this one loads worker.ts through tsx, as dmci does.
    expect(compiledWorkerUrl).toMatch(/^file:.*\/ical-worker\.mjs$/);
    const out = await pool({ fromSource: true }).run('prepareWrites', input([simpleEvent({ uid: 'w1@h', rrule: 'FREQ=WEEKLY;COUNT=3' }), 'not iCalendar']), A);
    expect(out.results[0]).toMatchObject({ ok: true, obj: { uid: 'w1@h', firstStart: new Date('2026-12-01T10:00:00Z') } });
    expect(out.results[0]!.ok && out.results[0]!.index.rows).toHaveLength(0); // all three lie past the 60-day horizon
    expect(out.results[1]).toMatchObject({ ok: false, error: { code: 'INVALID_ICALENDAR' } });
  });

  it('refuses work past a full queue with UNAVAILABLE and a retry hint', async () => {
    const busy = pool({ maxQueue: 1 });
    await busy.run('prepareWrites', input([simpleEvent({ uid: 'start@h' })]), A); // the worker is up
    const slow = input([denseVtimezoneEvent('slow@h')]);
    const running = busy.run('prepareWrites', slow, A); // taken by the worker
    const queued = busy.run('prepareWrites', slow, B); // waits
    await expect(busy.run('prepareWrites', slow, C)).rejects.toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 1000, details: { limit: 1 } });
    await expect(running).resolves.toBeDefined();
    await expect(queued).resolves.toBeDefined();
  });

  it('cuts off a task that overruns its deadline, then serves the next one on a fresh worker', async () => {
    const p = pool({ taskTimeoutMs: 300 });
    // With no budget the dense zone walks two million steps: far longer than the deadline.
    await expect(p.run('prepareWrites', input([denseVtimezoneEvent('endless@h', 'SECONDLY')], true), A)).rejects.toMatchObject({ code: 'TIMEOUT' });
    const out = await p.run('prepareWrites', input([simpleEvent({ uid: 'after@h' })]), A);
    expect(out.results[0]!.ok).toBe(true);
  });

  describe('fairness between accounts', () => {
    // Each task walks three dense zones to their object budget: slow enough that a flood stays queued.
    const heavy = (tag: string) => input([0, 1, 2].map((i) => denseVtimezoneEvent(`${tag}-${i}@h`)));
    const small = (tag: string) => input([simpleEvent({ uid: `${tag}@h` })]);
    /** Runs `count` heavy tasks of `owner`; `pending()` tells how many have not settled yet. */
    function flood(p: IcalWorkerPool, owner: string, count: number) {
      let settled = 0;
      const all = Array.from({ length: count }, (_, i) => p.run('prepareWrites', heavy(`flood-${i}`), owner).finally(() => settled++));
      return { all: Promise.all(all), pending: () => count - settled };
    }

    it('serves accounts in turn: with one worker, another account\'s small write waits for one task of the flood, not all of it', async () => {
      const p = pool({ size: 1, maxQueue: 64 });
      await p.run('prepareWrites', small('warm'), A); // the worker is up
      const f = flood(p, A, 6);
      const out = await p.run('prepareWrites', small('victim'), B);
      expect(out.results[0]!.ok).toBe(true);
      // FIFO would have run all six first; in turn: the running one and at most the next.
      expect(f.pending()).toBeGreaterThanOrEqual(4);
      await f.all;
    });

    it('leaves one worker to everyone else: with two, the flooding account runs on one and the small write does not wait for it', async () => {
      const p = pool({ size: 2, maxQueue: 64 });
      await Promise.all([p.run('prepareWrites', small('warm1'), A), p.run('prepareWrites', small('warm2'), B)]);
      const f = flood(p, A, 4);
      const out = await p.run('prepareWrites', small('victim'), B);
      expect(out.results[0]!.ok).toBe(true);
      expect(f.pending()).toBeGreaterThanOrEqual(3);
      await f.all;
    });

    it('bounds what one account may queue (RATE_LIMITED with a retry hint) while others are still taken', async () => {
      const p = pool({ size: 1, maxQueue: 64, maxQueuePerOwner: 2 });
      await p.run('prepareWrites', small('warm'), A);
      const f = flood(p, A, 3); // one running, two waiting: A's bound
      await expect(p.run('prepareWrites', heavy('one-too-many'), A)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterMs: 1000, details: { limit: 2 } });
      await expect(p.run('prepareWrites', small('other'), B)).resolves.toBeDefined();
      await f.all;
      // Once A's tasks ran, A may queue again.
      await expect(p.run('prepareWrites', small('again'), A)).resolves.toBeDefined();
    });
  });
});
