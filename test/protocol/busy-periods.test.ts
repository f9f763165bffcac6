import { describe, expect, it } from 'vitest';
import { decodePushChanges, encodedSize, FrameDecodeError, packBusyPeriods, unpackBusyPeriods, unpackFreeBusyAnswer, type BusyType } from '../../protocol/index.ts';

const FROM = '2026-12-01T00:00:00.000Z';
const base = Date.parse(FROM);
const HOUR = 3_600_000;

describe('packed busy periods', () => {
  it('round-trip: offsets from the window start and EWS digits back to ISO periods', () => {
    const types: BusyType[] = ['BUSY-TENTATIVE', 'BUSY', 'BUSY-UNAVAILABLE'];
    // Up to 62 days out: offsets past 2^32 ms (49.7 days) still come back exact.
    const periods = Array.from({ length: 62 * 4 }, (_, i) => ({ start: base + i * 6 * HOUR, end: base + i * 6 * HOUR + HOUR + 1_000, busyType: types[i % 3]! }));
    const packed = packBusyPeriods(periods, base);
    expect(packed.types.slice(0, 3)).toBe('123');
    expect(unpackBusyPeriods(packed, FROM)).toEqual(periods.map((p) => ({ start: new Date(p.start).toISOString(), end: new Date(p.end).toISOString(), busyType: p.busyType })));
  });

  it('is several times smaller than periods as maps', () => {
    // 3,000 ten-minute periods over 30 days: what 100 people's month looks like.
    const periods = Array.from({ length: 3000 }, (_, i) => ({ start: base + i * 864_000, end: base + i * 864_000 + 600_000, busyType: 'BUSY' as const }));
    const asMaps = periods.map((p) => ({ start: new Date(p.start).toISOString(), end: new Date(p.end).toISOString(), busyType: p.busyType }));
    expect(encodedSize(packBusyPeriods(periods, base)) * 5).toBeLessThan(encodedSize(asMaps));
  });

  it.each([
    ['odd offsets', { offsets: [0, 10, 20], types: '2' }],
    ['an end before its start', { offsets: [100, 50], types: '2' }],
    ['overlapping periods', { offsets: [0, 100, 50, 200], types: '22' }],
    ['a negative offset', { offsets: [-5, 10], types: '2' }],
    ['a fractional offset', { offsets: [0.5, 10], types: '2' }],
    ['a digit that is no busy type', { offsets: [0, 10], types: '0' }],
    ['types that are not a string', { offsets: [0, 10], types: [2] }],
  ])('refuses %s with FrameDecodeError', (_, packed) => {
    expect(() => unpackBusyPeriods(packed as never, FROM)).toThrow(FrameDecodeError);
  });

  it('unpacks a whole answer and a free/busy watch push, and leaves other pushes as sent', () => {
    const principal = { principal: 'a@x.test', periods: packBusyPeriods([{ start: base + HOUR, end: base + 2 * HOUR, busyType: 'BUSY' }], base), details: [] };
    const answer = { from: FROM, to: '2026-12-02T00:00:00.000Z', interval: 30, principals: [principal] };
    const expected = [{ start: '2026-12-01T01:00:00.000Z', end: '2026-12-01T02:00:00.000Z', busyType: 'BUSY' }];
    expect(unpackFreeBusyAnswer(answer as never).principals[0]!.periods).toEqual(expected);
    expect((decodePushChanges('freebusy:7', answer) as typeof answer & { principals: Array<{ periods: unknown }> }).principals[0]!.periods).toEqual(expected);
    expect(decodePushChanges('calendar:1', answer)).toBe(answer);
  });
});
