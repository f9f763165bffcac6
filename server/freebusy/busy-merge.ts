import type { BusyType } from '../../protocol/index.ts';

/**
 * Merging busy instances into free/busy periods and EWS slot strings (pure).
 * Precedence: out of office (BUSY-UNAVAILABLE) > BUSY > BUSY-TENTATIVE; free
 * instances never get here (TRANSPARENT and CANCELLED are stored as FREE).
 */

export interface TimedBusy {
  start: number;
  end: number;
  busyType: BusyType;
}

/** Precedence of busy types; equal to their EWS digits. */
export const BUSY_RANK: Record<BusyType, number> = { 'BUSY-TENTATIVE': 1, BUSY: 2, 'BUSY-UNAVAILABLE': 3 };
const RANK = BUSY_RANK;
/** Busy types by EWS digit. */
export const BUSY_TYPE_OF_RANK: Readonly<Record<number, BusyType>> = { 1: 'BUSY-TENTATIVE', 2: 'BUSY', 3: 'BUSY-UNAVAILABLE' };
const BY_RANK = BUSY_TYPE_OF_RANK;

const ZERO = 0x30;

/** EWS digits: 0 free, 1 tentative, 2 busy, 3 out of office, 4 no data. */
export const NO_DATA_DIGIT = '4';

/**
 * Non-overlapping periods in time order, clipped to [from, to), each with the
 * highest busy type of the instances over it; touching periods of one type
 * are joined. A sweep over the instances' edges: O(n log n).
 */
export function mergeBusy(instances: readonly TimedBusy[], from: number, to: number): TimedBusy[] {
  // Edges in flat typed arrays (an answer merges thousands of instances): the instant, and +rank opening / -rank closing.
  const at = new Float64Array(2 * instances.length);
  const change = new Int8Array(2 * instances.length);
  let count = 0;
  for (const i of instances) {
    const start = Math.max(i.start, from);
    const end = Math.min(i.end, to);
    if (end <= start) continue;
    const rank = RANK[i.busyType];
    at[count] = start;
    change[count++] = rank;
    at[count] = end;
    change[count++] = -rank;
  }
  const order = new Uint32Array(count);
  for (let k = 0; k < count; k++) order[k] = k;
  order.sort((a, b) => at[a]! - at[b]!);
  const open = [0, 0, 0, 0];
  const out: TimedBusy[] = [];
  let cursor = 0;
  for (let k = 0; k < count; ) {
    const now = at[order[k]!]!;
    const before = open[3]! > 0 ? 3 : open[2]! > 0 ? 2 : open[1]! > 0 ? 1 : 0;
    if (before > 0 && now > cursor) {
      const last = out[out.length - 1];
      if (last && last.end === cursor && last.busyType === BY_RANK[before]) last.end = now;
      else out.push({ start: cursor, end: now, busyType: BY_RANK[before]! });
    }
    for (; k < count && at[order[k]!] === now; k++) {
      const c = change[order[k]!]!;
      const rank = Math.abs(c);
      open[rank] = open[rank]! + Math.sign(c);
    }
    cursor = now;
  }
  return out;
}

/** The slot string of merged periods: `count` slots of `intervalMs` from `from`, each its highest digit. */
export function slotString(periods: readonly TimedBusy[], from: number, intervalMs: number, count: number): string {
  // ASCII digits written in place: the ranks are the EWS digits.
  const digits = Buffer.alloc(count, ZERO);
  for (const p of periods) {
    const first = Math.max(0, Math.floor((p.start - from) / intervalMs));
    const last = Math.min(count - 1, Math.ceil((p.end - from) / intervalMs) - 1);
    const digit = ZERO + RANK[p.busyType];
    for (let s = first; s <= last; s++) if (digits[s]! < digit) digits[s] = digit;
  }
  return digits.toString('latin1');
}

export function slotCount(from: number, to: number, intervalMs: number): number {
  return Math.ceil((to - from) / intervalMs);
}
