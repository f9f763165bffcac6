import { describe, expect, it } from 'vitest';
import { mergeBusy, slotString, type TimedBusy } from '../../server/freebusy/busy-merge.ts';
import { workingIntervals } from '../../server/freebusy/working-hours.ts';

const H = 3_600_000;
const b = (start: number, end: number, busyType: TimedBusy['busyType']): TimedBusy => ({ start: start * H, end: end * H, busyType });

describe('mergeBusy', () => {
  it('splits overlaps by precedence and joins touching periods of one type', () => {
    const merged = mergeBusy([b(1, 4, 'BUSY-TENTATIVE'), b(2, 3, 'BUSY-UNAVAILABLE'), b(2.5, 5, 'BUSY'), b(5, 6, 'BUSY'), b(7, 8, 'BUSY-TENTATIVE')], 0, 24 * H);
    expect(merged).toEqual([b(1, 2, 'BUSY-TENTATIVE'), b(2, 3, 'BUSY-UNAVAILABLE'), b(3, 6, 'BUSY'), b(7, 8, 'BUSY-TENTATIVE')]);
  });

  it('clips to the window and drops empty instances', () => {
    expect(mergeBusy([b(-2, 1, 'BUSY'), b(3, 3, 'BUSY'), b(23, 30, 'BUSY-TENTATIVE')], 0, 24 * H)).toEqual([b(0, 1, 'BUSY'), b(23, 24, 'BUSY-TENTATIVE')]);
  });

  it('nested periods of the same type stay one period', () => {
    expect(mergeBusy([b(1, 6, 'BUSY'), b(2, 3, 'BUSY'), b(2, 4, 'BUSY-TENTATIVE')], 0, 24 * H)).toEqual([b(1, 6, 'BUSY')]);
  });

  it('equals a minute-by-minute model on random instances, before 1970 too', () => {
    const TYPES: TimedBusy['busyType'][] = ['BUSY-TENTATIVE', 'BUSY', 'BUSY-UNAVAILABLE'];
    const M = 60_000;
    let seed = 7;
    const random = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648), seed % n);
    for (const origin of [Date.UTC(2026, 11, 1), Date.UTC(1969, 11, 31, 23)]) {
      for (let round = 0; round < 200; round++) {
        const instances = Array.from({ length: random(12) }, () => {
          const start = origin + (random(130) - 10) * M;
          return { start, end: start + random(40) * M, busyType: TYPES[random(3)]! };
        });
        const from = origin;
        const to = origin + 100 * M;
        // The model: each minute's highest rank, then runs of one rank.
        const rankAt = Array.from({ length: 100 }, (_, m) => Math.max(0, ...instances.filter((i) => i.start <= from + m * M && i.end > from + m * M).map((i) => TYPES.indexOf(i.busyType) + 1)));
        const expected: TimedBusy[] = [];
        rankAt.forEach((rank, m) => {
          if (rank === 0) return;
          const last = expected[expected.length - 1];
          if (last && last.end === from + m * M && last.busyType === TYPES[rank - 1]) last.end += M;
          else expected.push({ start: from + m * M, end: from + (m + 1) * M, busyType: TYPES[rank - 1]! });
        });
        expect(mergeBusy(instances, from, to)).toEqual(expected);
      }
    }
  });
});

describe('slotString', () => {
  it('gives each slot the highest digit in it, partial overlaps included', () => {
    const periods = [b(0.5, 1, 'BUSY-TENTATIVE'), b(1.25, 1.5, 'BUSY'), b(3, 4, 'BUSY-UNAVAILABLE')];
    expect(slotString(periods, 0, H, 5)).toBe('12030');
    expect(slotString(periods, 0, H / 2, 8)).toBe('01200033');
  });
});

describe('workingIntervals', () => {
  it('places working days in their own zone, across a DST change', () => {
    // 2026-03-27 is a Friday; Berlin moves to summer time on Sunday 2026-03-29.
    const from = Date.parse('2026-03-27T00:00:00Z');
    const to = Date.parse('2026-03-31T00:00:00Z');
    const got = workingIntervals({ days: [1, 2, 3, 4, 5], start: 540, end: 1020, timeZone: 'Europe/Berlin' }, from, to);
    expect(got.map((i) => [new Date(i.start).toISOString(), new Date(i.end).toISOString()])).toEqual([
      ['2026-03-27T08:00:00.000Z', '2026-03-27T16:00:00.000Z'],
      ['2026-03-30T07:00:00.000Z', '2026-03-30T15:00:00.000Z'],
    ]);
  });

  it('clips to the window', () => {
    const got = workingIntervals({ days: [1, 2, 3, 4, 5, 6, 7], start: 0, end: 1440, timeZone: 'UTC' }, Date.parse('2026-03-27T12:00:00Z'), Date.parse('2026-03-28T06:00:00Z'));
    expect(got.map((i) => [new Date(i.start).toISOString(), new Date(i.end).toISOString()])).toEqual([
      ['2026-03-27T12:00:00.000Z', '2026-03-28T00:00:00.000Z'],
      ['2026-03-28T00:00:00.000Z', '2026-03-28T06:00:00.000Z'],
    ]);
  });
});
