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
  const edges = new BusyEdges(from, to);
  for (const i of instances) edges.add(i.start, i.end, RANK[i.busyType]);
  return edges.merged();
}

/**
 * mergeBusy's input gathered without an object per instance (an answer merges
 * thousands): each edge is one number, instant × EDGE_CODES + code (1–3 opens
 * that rank, CLOSES + rank closes it), so the typed array's native numeric
 * sort orders them with no comparator call. Whole milliseconds stay exact:
 * |instant| × 8 is far below 2^53.
 */
export class BusyEdges {
  private edges = new Float64Array(64);
  private count = 0;

  constructor(
    private readonly from: number,
    private readonly to: number,
  ) {}

  /** An instance of busy digit `rank` (1–3) over [start, end), clipped to the window; empty ones are left out. */
  add(start: number, end: number, rank: number): void {
    const clippedStart = Math.max(start, this.from);
    const clippedEnd = Math.min(end, this.to);
    if (clippedEnd <= clippedStart) return;
    if (this.count + 2 > this.edges.length) {
      const grown = new Float64Array(this.edges.length * 2);
      grown.set(this.edges);
      this.edges = grown;
    }
    this.edges[this.count++] = clippedStart * EDGE_CODES + rank;
    this.edges[this.count++] = clippedEnd * EDGE_CODES + CLOSES + rank;
  }

  /** The merged periods of everything added (mergeBusy's answer). */
  merged(): TimedBusy[] {
    const count = this.count;
    const sorted = this.edges.subarray(0, count).sort();
    const open = [0, 0, 0, 0];
    const out: TimedBusy[] = [];
    let cursor = 0;
    for (let k = 0; k < count; ) {
      const now = instantOf(sorted[k]!);
      const before = open[3]! > 0 ? 3 : open[2]! > 0 ? 2 : open[1]! > 0 ? 1 : 0;
      if (before > 0 && now > cursor) {
        const last = out[out.length - 1];
        if (last && last.end === cursor && last.busyType === BY_RANK[before]) last.end = now;
        else out.push({ start: cursor, end: now, busyType: BY_RANK[before]! });
      }
      for (; k < count && instantOf(sorted[k]!) === now; k++) {
        const code = sorted[k]! - now * EDGE_CODES;
        if (code > CLOSES) open[code - CLOSES]!--;
        else open[code]!++;
      }
      cursor = now;
    }
    return out;
  }
}

/** An edge's code: its rank (1–3) when it opens, CLOSES + rank when it closes. */
const EDGE_CODES = 8;
const CLOSES = 4;
const instantOf = (edge: number) => Math.floor(edge / EDGE_CODES);

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
