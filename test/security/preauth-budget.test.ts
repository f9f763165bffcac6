import { describe, expect, it } from 'vitest';
import { PreAuthBudget } from '../../server/security/preauth-budget.ts';

describe('pre-authentication budget per address', () => {
  const settings = { windowMs: 1000, maxConnections: 3, maxFrames: 5, maxBytes: 1000 };

  it('refuses past each of connections, frames and bytes, per address, until the window ends', () => {
    let now = 0;
    const budget = new PreAuthBudget({ ...settings, now: () => now });
    for (let i = 0; i < 3; i++) expect(budget.admitConnection('10.0.0.1')).toBeNull();
    expect(budget.admitConnection('10.0.0.1')).toBe('connections');
    expect(budget.admitConnection('10.0.0.2')).toBeNull(); // another address has its own budget
    expect(budget.retryAfterMs('10.0.0.1')).toBe(1000);

    now = 1000; // a new window
    expect(budget.admitConnection('10.0.0.1')).toBeNull();
    expect(budget.admitFrame('10.0.0.1', 600)).toBeNull();
    expect(budget.admitFrame('10.0.0.1', 600)).toBe('bytes');
    expect(budget.admitConnection('10.0.0.1')).toBe('bytes'); // a spent address gets no new connection either

    now = 2000;
    for (let i = 0; i < 5; i++) expect(budget.admitFrame('10.0.0.1', 1)).toBeNull();
    expect(budget.admitFrame('10.0.0.1', 1)).toBe('frames');
  });

  it('remembers a bounded number of addresses', () => {
    let now = 0;
    const budget = new PreAuthBudget({ ...settings, maxTracked: 100, now: () => now });
    for (let i = 0; i < 1000; i++) {
      now = i;
      budget.admitConnection(`10.0.${i >> 8}.${i & 255}`);
    }
    expect((budget as unknown as { spent: Map<string, unknown> }).spent.size).toBeLessThanOrEqual(100);
  });
});
