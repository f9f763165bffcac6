import { FrameDecodeError } from './codec.ts';
import type { BusyPeriod, BusyPeriodsWire, BusyType, FreeBusyAnswer, FreeBusyAnswerWire, PrincipalFreeBusy, PrincipalFreeBusyWire } from './methods/freebusy.ts';

/**
 * Busy periods packed: the wire form of FreeBusy/query answers and watch
 * pushes (docs/protocol.md §Free/busy, "Packed periods"). The server packs
 * from epoch milliseconds, a client library unpacks into `{start, end,
 * busyType}` with ISO strings, the shape its callers use.
 *
 * Why: 100 people over 30 days are ~3,000 periods; as maps of two ISO strings
 * and a type name they were two thirds of the answer's bytes (~270 KB of
 * ~410 KB) and most of the time spent encoding and decoding it. As offsets
 * from the window's start they are ~11 bytes each (docs/decisions.md).
 */

/** EWS digits of the busy types, as in slot strings. */
const DIGIT_OF: Record<BusyType, string> = { 'BUSY-TENTATIVE': '1', BUSY: '2', 'BUSY-UNAVAILABLE': '3' };
const TYPE_OF: Record<string, BusyType> = { '1': 'BUSY-TENTATIVE', '2': 'BUSY', '3': 'BUSY-UNAVAILABLE' };

/** Periods in epoch milliseconds, in time order and not before `from` → the wire form. */
export function packBusyPeriods(periods: ReadonlyArray<{ start: number; end: number; busyType: BusyType }>, from: number): BusyPeriodsWire {
  const offsets = new Array<number>(periods.length * 2);
  let types = '';
  for (let i = 0; i < periods.length; i++) {
    const p = periods[i]!;
    offsets[2 * i] = p.start - from;
    offsets[2 * i + 1] = p.end - from;
    types += DIGIT_OF[p.busyType];
  }
  return { offsets, types };
}

/** The wire form → periods with ISO strings. Throws FrameDecodeError when the offsets and types do not fit together. */
export function unpackBusyPeriods(packed: BusyPeriodsWire, from: string, iso: (ms: number) => string = isoMemo()): BusyPeriod[] {
  const base = Date.parse(from);
  const { offsets, types } = packed;
  if (!Number.isFinite(base)) throw malformed('the answer has no valid `from`');
  if (!Array.isArray(offsets) || typeof types !== 'string' || offsets.length !== types.length * 2) throw malformed('offsets are not two per type digit');
  const periods = new Array<BusyPeriod>(types.length);
  let previousEnd = 0;
  for (let i = 0; i < types.length; i++) {
    const start = offsets[2 * i]!;
    const end = offsets[2 * i + 1]!;
    const busyType = TYPE_OF[types[i]!];
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < previousEnd || end <= start) throw malformed('offsets are not increasing periods');
    if (busyType === undefined) throw malformed(`"${types[i]}" is not a busy type digit`);
    previousEnd = end;
    periods[i] = { start: iso(base + start), end: iso(base + end), busyType };
  }
  return periods;
}

/** A principal's entry as it travels → as callers use it. */
export function unpackPrincipal(principal: PrincipalFreeBusyWire, from: string, iso: (ms: number) => string = isoMemo()): PrincipalFreeBusy {
  return { ...principal, periods: unpackBusyPeriods(principal.periods, from, iso) };
}

/** An answer (or a watch push's `changes`) as it travels → as callers use it. */
export function unpackFreeBusyAnswer<T extends FreeBusyAnswerWire>(answer: T): Omit<T, 'principals'> & FreeBusyAnswer {
  const iso = isoMemo();
  return { ...answer, principals: answer.principals.map((p) => unpackPrincipal(p, answer.from, iso)) };
}

/**
 * ISO strings of instants, each formatted once per answer: its thousands of
 * period edges fall on few distinct instants (meetings start on the hour).
 * One memo per answer: its size is bounded by the answer's own edges.
 */
function isoMemo(): (ms: number) => string {
  const memo = new Map<number, string>();
  return (ms) => {
    let iso = memo.get(ms);
    if (iso === undefined) memo.set(ms, (iso = new Date(ms).toISOString()));
    return iso;
  };
}

const malformed = (why: string) => new FrameDecodeError(`malformed free/busy periods: ${why}`);
