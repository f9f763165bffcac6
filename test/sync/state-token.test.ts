import { describe, expect, it } from 'vitest';
import { decodeCursor, decodeState, encodeCursor, encodeState, type SyncCursor } from '../../server/sync/state-token.ts';

const id = '0b6f3c1e-7d2a-4c1b-9e8f-1a2b3c4d5e6f';

describe('state tokens (one format for every scope)', () => {
  it.each<SyncCursor>([
    { modseq: 57, afterId: null, base: null, initial: false, window: null },
    { modseq: 57, afterId: id, base: null, initial: false, window: null },
    { modseq: 9, afterId: id, base: null, initial: true, window: null },
    { modseq: 0, afterId: null, base: null, initial: false, window: { startDay: 20500, endDay: 20520 } },
    { modseq: 12, afterId: id, base: null, initial: true, window: { startDay: 1, endDay: 2 } },
    { modseq: 9, afterId: id, afterModseq: 7, base: null, initial: true, window: null },
    { modseq: 9, afterId: id, afterModseq: 9, base: null, initial: true, window: null },
    { modseq: 57, afterId: id, base: 40, initial: false, window: null },
    { modseq: 57, afterId: id, base: 40, initial: false, window: { startDay: 3, endDay: 9 } },
  ])('round-trips %j', (cursor) => {
    expect(decodeCursor(encodeCursor(cursor))).toEqual(cursor);
  });

  it("spells a full sync's place in (modseq, id) order after ~i", () => {
    expect(encodeCursor({ modseq: 9, afterId: id, afterModseq: 7, base: null, initial: true, window: null })).toBe(`9~i7~a${id}`);
    expect(decodeCursor(`9~i~a${id}`)).not.toHaveProperty('afterModseq');
  });

  it('spells a complete state as the plain modseq', () => {
    expect(encodeState(42)).toBe('42');
    expect(encodeCursor({ modseq: 42, afterId: null, base: 40, initial: false, window: null })).toBe('42');
    expect(decodeState('42')).toBe(42);
  });

  it.each(['', 'x', '-1', '57~', '57~a', `57~anothex`, '57~i', '1e3', '12345678901234567', `57~a${id}~b60`, `57~i~a${id}~b1`, `57~i58~a${id}`, `57~i7`, '57~w1', 'abc'])('refuses %j with INVALID_STATE', (state) => {
    expect(() => decodeCursor(state)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });

  // The calendar and GAL formats used before the sync core: recognised, and answered with a resync.
  it.each([`b40.57-${id}`, `i57-${id}`, `57-${id}`, 'w1_2.57', `w1_2.i57-${id}`, `57.${id}`, 'i57', `i57.${id}`])('answers the earlier format %j with CANNOT_CALCULATE_CHANGES', (state) => {
    expect(() => decodeCursor(state)).toThrow(expect.objectContaining({ code: 'CANNOT_CALCULATE_CHANGES' }));
  });

  it('takes only complete states where one point in the log is meant (ifInState, Push/subscribe)', () => {
    expect(() => decodeState(`42~a${id}`)).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
    expect(() => decodeState('42~w1_2')).toThrow(expect.objectContaining({ code: 'INVALID_STATE' }));
  });
});
