import { describe, expect, it } from 'vitest';
import { BlockTable, LocalBlockBook, type BlockStart } from '../../server/security/block-book.ts';
import { LoginGuard, neighbourhood } from '../../server/security/login-guard.ts';

/** The guard keeps no blocks of its own: it starts them in its book and asks the book (shared by every node on a server). */
describe('the login guard and its block book', () => {
  function setup() {
    let now = 1_000_000;
    const started: BlockStart[] = [];
    const local = new LocalBlockBook();
    // A book that can be emptied from outside, as another node's unblock empties a node's copy.
    let book = local;
    const guard = new LoginGuard({
      failures: 3,
      windowMs: 600_000,
      blockMs: 900_000,
      maxDelayMs: 0,
      now: () => now,
      blocks: {
        remaining: (key, at) => book.remaining(key, at),
        remainingFor: (address, around, at) => book.remainingFor(address, around, at),
        start: (block) => {
          started.push(block);
          book.start(block);
        },
      },
    });
    return { guard, started, lift: () => (book = new LocalBlockBook()), advance: (ms: number) => (now += ms), now: () => now };
  }

  it('starts a block in the book once the threshold is reached, and admits again once the book lifts it', async () => {
    const s = setup();
    for (let i = 0; i < 3; i++) await s.guard.attempt({ address: '192.0.2.7', login: 'ann' }, async () => ({ ok: false, reason: 'bad_credentials' }));
    expect(s.guard.blockedFor('192.0.2.7')).toBe(900_000);
    expect(s.started).toEqual([{ key: '192.0.2.7', untilMs: s.now() + 900_000, reason: '3 failed logins within 600 s' }]);
    s.lift();
    expect(s.guard.blockedFor('192.0.2.7')).toBe(0);
    expect(await s.guard.attempt({ address: '192.0.2.7', login: 'ann' }, async () => ({ ok: true }))).toEqual({ ok: true });
  });

  it('honours a block it did not start (another node, an admin)', () => {
    const s = setup();
    const book = new LocalBlockBook();
    const guard = new LoginGuard({ failures: 3, windowMs: 600_000, blockMs: 900_000, maxDelayMs: 0, now: s.now, blocks: book });
    book.start({ key: neighbourhood('198.51.100.4'), untilMs: s.now() + 5000, reason: 'elsewhere' });
    expect(guard.blockedFor('198.51.100.200')).toBe(5000);
    expect(guard.blockedFor('198.51.101.1')).toBe(0);
  });
});

describe('BlockTable', () => {
  it("matches an admin's range by prefix, a neighbourhood key exactly, and forgets ended blocks", () => {
    const table = new BlockTable();
    table.set('10.0.0.0/8', 2000, { range: true });
    table.set('2001:db8::/32', 2000, { range: true });
    table.set('192.0.2.0/24', 3000);
    expect(table.remainingFor('10.200.3.4', neighbourhood('10.200.3.4'), 1000)).toBe(1000);
    expect(table.remainingFor('11.0.0.1', neighbourhood('11.0.0.1'), 1000)).toBeLessThanOrEqual(0);
    expect(table.remainingFor('2001:db8:1::5', neighbourhood('2001:db8:1::5'), 1000)).toBe(1000);
    expect(table.remainingFor('192.0.2.9', neighbourhood('192.0.2.9'), 1000)).toBe(2000);
    table.sweep(2500);
    expect(table.keys()).toEqual(['192.0.2.0/24']);
  });
});
