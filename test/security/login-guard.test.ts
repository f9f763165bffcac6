import { describe, expect, it } from 'vitest';
import { HashQueueFull } from '../../server/security/hash-queue.ts';
import { LoginGuard, neighbourhood, type LoginSource } from '../../server/security/login-guard.ts';

function guard(settings: Partial<{ failures: number; windowMs: number; blockMs: number; maxDelayMs: number; maxTracked: number }> = {}, trusted: string[] = []) {
  let now = 1_000_000;
  const instance = new LoginGuard({
    failures: 10,
    windowMs: 600_000,
    blockMs: 900_000,
    maxDelayMs: 15_000,
    ...settings,
    now: () => now,
    isTrusted: (address) => trusted.includes(address),
  });
  return { guard: instance, advance: (ms: number) => (now += ms), now: () => now };
}

type Outcome = { ok: true } | { ok: false; reason: 'bad_credentials' };
const good = async (): Promise<Outcome> => ({ ok: true });
const bad = async (): Promise<Outcome> => ({ ok: false, reason: 'bad_credentials' });

/** A check that runs until released: the attempt stays in flight meanwhile. */
function pending(): { check: () => Promise<Outcome>; release: (outcome: Outcome) => void } {
  let release!: (outcome: Outcome) => void;
  const promise = new Promise<Outcome>((resolve) => (release = resolve));
  return { check: () => promise, release };
}

describe('LoginGuard.attempt', () => {
  // answerBy = the fake clock's now: the delay is never slept in real time, but the slots stay taken for it.
  const from = (g: { now: () => number }, address: string, login: string): LoginSource => ({ address, login, answerBy: g.now() });

  it('lets one attempt per address and per login name be in flight: the same address waits its turn, the same login elsewhere is refused busy', async () => {
    const g = guard();
    const first = pending();
    const running = g.guard.attempt(from(g, '192.0.2.1', 'ann@example.com'), first.check);
    const waiting = g.guard.attempt({ address: '192.0.2.1', login: 'bob@example.com' }, good);
    expect(await g.guard.attempt(from(g, '192.0.2.99', 'ANN@example.com'), good)).toMatchObject({ reason: 'refused', refused: 'busy' });
    expect(await g.guard.attempt(from(g, '192.0.2.99', 'bob@example.com'), good)).toEqual({ ok: true });
    first.release({ ok: true });
    expect(await running).toEqual({ ok: true });
    expect(await waiting).toEqual({ ok: true });
  });

  it('turns the waiting line away when the attempt ahead fails, and refuses what comes during its delay', async () => {
    const g = guard({ failures: 100 });
    const first = pending();
    const running = g.guard.attempt(from(g, '192.0.2.5', 'ann@example.com'), first.check);
    const waiting = [1, 2, 3].map((i) => g.guard.attempt({ address: '192.0.2.5', login: `guess${i}@example.com` }, good));
    first.release({ ok: false, reason: 'bad_credentials' });
    expect(await running).toEqual({ ok: false, reason: 'bad_credentials' });
    for (const outcome of await Promise.all(waiting)) expect(outcome).toMatchObject({ refused: 'busy' });
    expect(await g.guard.attempt(from(g, '192.0.2.5', 'zoe@example.com'), good)).toMatchObject({ refused: 'busy' });
  });

  it('keeps the slots of a failed attempt for its whole delay, even when the answer was due earlier', async () => {
    const g = guard({ failures: 100 });
    expect(await g.guard.attempt(from(g, '192.0.2.2', 'ann@example.com'), bad)).toEqual({ ok: false, reason: 'bad_credentials' });
    const refused = await g.guard.attempt(from(g, '192.0.2.2', 'ann@example.com'), good);
    expect(refused).toMatchObject({ refused: 'busy', retryAfterMs: 250 });
    g.advance(250);
    // The refused attempt counted: the next failure's delay is that of a third failure.
    expect(await g.guard.attempt(from(g, '192.0.2.2', 'ann@example.com'), bad)).toMatchObject({ reason: 'bad_credentials' });
    expect(await g.guard.attempt(from(g, '192.0.2.2', 'ann@example.com'), good)).toMatchObject({ refused: 'busy', retryAfterMs: 1000 });
  });

  it('counts an attempt when it starts: an abandoned one counts, a success takes back only its own', async () => {
    const g = guard({ failures: 3 });
    const abandoned = new AbortController();
    abandoned.abort();
    const aborting = async (): Promise<Outcome> => {
      throw abandoned.signal.reason;
    };
    expect(await g.guard.attempt({ ...from(g, '198.51.100.1', 'ann@example.com'), signal: abandoned.signal }, aborting)).toEqual({ ok: false, reason: 'abandoned' });
    g.advance(60_000);
    expect(await g.guard.attempt(from(g, '198.51.100.1', 'ann@example.com'), bad)).toMatchObject({ reason: 'bad_credentials' });
    g.advance(60_000);
    // Account B's success from the same address resets nothing of A's.
    expect(await g.guard.attempt(from(g, '198.51.100.1', 'bob@example.com'), good)).toEqual({ ok: true });
    expect(g.guard.blockedFor('198.51.100.1')).toBe(0);
    expect(await g.guard.attempt(from(g, '198.51.100.1', 'ann@example.com'), bad)).toMatchObject({ reason: 'bad_credentials' });
    expect(g.guard.blockedFor('198.51.100.1')).toBe(900_000);
    expect(await g.guard.attempt(from(g, '198.51.100.1', 'bob@example.com'), good)).toMatchObject({ refused: 'blocked' });
  });

  it('lengthens the delay by the login name’s failures from any address, but never blocks a login name', async () => {
    const g = guard({ failures: 3 });
    for (let i = 1; i <= 6; i++) {
      expect(await g.guard.attempt(from(g, `203.0.113.${i * 30}`, 'ann@example.com'), bad)).toMatchObject({ reason: 'bad_credentials' });
      g.advance(60_000);
    }
    const refused = await g.guard.attempt(from(g, '203.0.113.7', 'ann@example.com'), bad);
    expect(refused).toMatchObject({ reason: 'bad_credentials' });
    expect(await g.guard.attempt(from(g, '203.0.113.8', 'ann@example.com'), good)).toMatchObject({ refused: 'busy', retryAfterMs: 15_000 });
    g.advance(15_000);
    expect(await g.guard.attempt(from(g, '203.0.113.8', 'ann@example.com'), good)).toEqual({ ok: true });
  });

  it('answers overloaded without counting when the hashing queue is full', async () => {
    const g = guard({ failures: 1 });
    const full = async (): Promise<Outcome> => {
      throw new HashQueueFull('full');
    };
    expect(await g.guard.attempt(from(g, '192.0.2.3', 'ann@example.com'), full)).toMatchObject({ refused: 'overloaded' });
    expect(g.guard.blockedFor('192.0.2.3')).toBe(0);
    expect(await g.guard.attempt(from(g, '192.0.2.3', 'ann@example.com'), good)).toEqual({ ok: true });
  });

  it('lets trusted hosts through without slots, counts or blocks', async () => {
    const g = guard({ failures: 1 }, ['10.0.0.1']);
    const first = pending();
    const running = g.guard.attempt(from(g, '10.0.0.1', 'ann@example.com'), first.check);
    for (let i = 0; i < 3; i++) expect(await g.guard.attempt(from(g, '10.0.0.1', 'ann@example.com'), bad)).toEqual({ ok: false, reason: 'bad_credentials' });
    expect(g.guard.blockedFor('10.0.0.1')).toBe(0);
    first.release({ ok: true });
    expect(await running).toEqual({ ok: true });
  });
});

describe('LoginGuard screening', () => {
  it('delays each failure twice as long as the last, up to the maximum', () => {
    const { guard: g } = guard({ failures: 1000 });
    const delays = Array.from({ length: 9 }, () => g.recordFailure('192.0.2.7'));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    expect(g.recordFailure('192.0.2.8')).toBe(250); // per address
  });

  it('blocks an address after N failures within the window, for blockMs, doubling with each new block', () => {
    const { guard: g, advance } = guard({ failures: 3, windowMs: 60_000, blockMs: 10_000 });
    g.recordFailure('198.51.100.1');
    g.recordFailure('198.51.100.1');
    expect(g.blockedFor('198.51.100.1')).toBe(0);
    g.recordFailure('198.51.100.1');
    expect(g.blockedFor('198.51.100.1')).toBe(10_000);
    expect(g.blockedFor('198.51.100.2')).toBe(0);
    advance(10_000);
    expect(g.blockedFor('198.51.100.1')).toBe(0);
    for (let i = 0; i < 3; i++) g.recordFailure('198.51.100.1');
    expect(g.blockedFor('198.51.100.1')).toBe(20_000);
    advance(20_000);
    for (let i = 0; i < 3; i++) g.recordFailure('198.51.100.1');
    expect(g.blockedFor('198.51.100.1')).toBe(40_000);
  });

  it('forgets failures older than the window', () => {
    const { guard: g, advance } = guard({ failures: 3, windowMs: 60_000 });
    g.recordFailure('203.0.113.9');
    g.recordFailure('203.0.113.9');
    advance(60_001);
    g.recordFailure('203.0.113.9');
    expect(g.blockedFor('203.0.113.9')).toBe(0);
  });

  it('never blocks for more than 24 hours', () => {
    const { guard: g, advance } = guard({ failures: 1, blockMs: 3_600_000 });
    let last = 0;
    for (let i = 0; i < 8; i++) {
      g.recordFailure('192.0.2.50');
      last = g.blockedFor('192.0.2.50');
      advance(last);
    }
    expect(last).toBe(24 * 3_600_000);
  });

  it('counts a /24 (IPv4) or /64 (IPv6) neighbourhood at four times the threshold', () => {
    const { guard: g } = guard({ failures: 2 });
    for (let i = 1; i <= 7; i++) g.recordFailure(`192.0.2.${i}`);
    expect(g.blockedFor('192.0.2.200')).toBe(0);
    g.recordFailure('192.0.2.8');
    expect(g.blockedFor('192.0.2.200')).toBeGreaterThan(0);
    expect(g.blockedFor('192.0.3.1')).toBe(0);
    expect(neighbourhood('2001:db8:1:2:3:4:5:6')).toBe('2001:db8:1:2::/64');
    expect(neighbourhood('2001:db8::1')).toBe('2001:db8:0:0::/64');
  });

  it('stays bounded when blocked addresses alone fill the table', () => {
    const { guard: g } = guard({ failures: 1, maxTracked: 1000 });
    for (let i = 0; i < 5000; i++) {
      g.recordFailure(`2001:db8:${i.toString(16)}::1`);
      g.blockedFor(`2001:db8:${i.toString(16)}::1`); // every failure blocks its address and /64
    }
    expect(g.size).toBeLessThanOrEqual(1000);
    expect(g.blockedFor('2001:db8:1387::1')).toBeGreaterThan(0); // the newest blocks survive
  });
});
