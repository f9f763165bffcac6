import { describe, expect, it } from 'vitest';
import { decodeCursor, decodePlainState, encodeCursor } from '../../server/calendar/calendar-state.ts';
import { wallClockToInstant } from '../../server/calendar/zoned-time.ts';

const id = '0b6f3c1e-7d2a-4c1b-9e8f-1a2b3c4d5e6f';

describe('calendar state tokens', () => {
  it.each([
    { modseq: 57, afterId: null, initial: false, window: null },
    { modseq: 57, afterId: id, initial: false, window: null },
    { modseq: 9, afterId: id, initial: true, window: null },
    { modseq: 0, afterId: null, initial: false, window: { startDay: 20500, endDay: 20520 } },
    { modseq: 12, afterId: id, initial: true, window: { startDay: 1, endDay: 2 } },
    { modseq: 57, afterId: id, base: 40, initial: false, window: null },
    { modseq: 57, afterId: id, base: 40, initial: false, window: { startDay: 3, endDay: 9 } },
  ])('round-trips %j', (cursor) => {
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it.each(['', 'x', '-1', '57-', '57-nothex', 'i57', 'w1.57', '1e3', '12345678901234567', 'b40.57', `b60.57-${id}`, `b1.i57-${id}`])('refuses %j with INVALID_STATE', (state) => {
    expect(() => decodeCursor(state)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });

  it('takes only complete states for ifInState', () => {
    expect(decodePlainState('42')).toBe(42);
    expect(() => decodePlainState(`42-${id}`)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});

describe('wall clock to instant', () => {
  it('handles zones, DST and the gap', () => {
    expect(wallClockToInstant(new Date('2026-12-24T00:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-12-23T23:00:00.000Z');
    expect(wallClockToInstant(new Date('2026-07-01T09:00:00Z'), 'America/New_York').toISOString()).toBe('2026-07-01T13:00:00.000Z');
    expect(wallClockToInstant(new Date('2026-12-10T09:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2026-12-10T03:30:00.000Z');
    // 02:30 does not exist in Berlin on 2026-03-29; it maps to a real instant next to the gap.
    const gap = wallClockToInstant(new Date('2026-03-29T02:30:00Z'), 'Europe/Berlin').toISOString();
    expect(['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00.000Z']).toContain(gap);
  });
});
