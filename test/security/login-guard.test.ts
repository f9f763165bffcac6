import { describe, expect, it } from 'vitest';
import { LoginGuard, neighbourhood } from '../../server/security/login-guard.ts';

function guard(settings: Partial<{ failures: number; windowMs: number; blockMs: number; maxDelayMs: number; maxTracked: number }> = {}) {
  let now = 1_000_000;
  const instance = new LoginGuard({ failures: 10, windowMs: 600_000, blockMs: 900_000, maxDelayMs: 15_000, ...settings, now: () => now });
  return { guard: instance, advance: (ms: number) => (now += ms) };
}

describe('LoginGuard', () => {
  it('delays each failed login twice as long as the last, up to the maximum, and a success resets it', () => {
    const { guard: g } = guard({ failures: 1000 });
    const delays = Array.from({ length: 9 }, () => g.recordFailure('192.0.2.7'));
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000]);
    g.recordSuccess('192.0.2.7');
    expect(g.recordFailure('192.0.2.7')).toBe(250);
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
    for (let i = 0; i < 5000; i++) g.recordFailure(`2001:db8:${i.toString(16)}::1`); // every failure blocks its address and /64
    expect(g.size).toBeLessThanOrEqual(1000);
    expect(g.blockedFor('2001:db8:1387::1')).toBeGreaterThan(0); // the newest blocks survive
  });
});
