import { DefaultLimits, encodedSize, ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * What an answer keeps for everything but the objects of its lists: the
 * response envelope and request id, states and cursors (at most a few hundred
 * bytes each), flags, `notFound` lists of ids asked for, and list headers.
 */
export const ANSWER_RESERVE_BYTES = 64 * 1024;
/** What an answer's objects may take in all: maxAnswerBytes less the reserve. */
export const ANSWER_BUDGET_BYTES = DefaultLimits.maxAnswerBytes - ANSWER_RESERVE_BYTES;

/**
 * The byte budget of one answer (issue 7): every page builder — /changes,
 * /get, /query, Directory pages — offers each object it is about to add, in
 * order, and ends the page early (with its hasMore… flag) at the first one
 * that does not fit. Sizes are exact msgpack sizes (encodedSize), so the
 * frame stays within `limits.maxAnswerBytes`.
 *
 * A page always takes its first object, so paging makes progress; an object
 * larger than the budget on its own cannot exist (stored objects are far
 * smaller: events at most 256 KiB of iCalendar text), and if it ever did,
 * the gateway refuses the answer with LIMIT_EXCEEDED rather than send it.
 */
export class AnswerBudget {
  private used = 0;
  private count = 0;

  constructor(private readonly limit = ANSWER_BUDGET_BYTES) {}

  /** Counts `value` in and returns true if it fits (or is the first); false: end the page before it. */
  fits(value: unknown): boolean {
    return this.fitsBytes(encodedSize(value));
  }

  /** As fits, for an item whose encoded size the caller computed (packed columns: a number in an array). */
  fitsBytes(size: number): boolean {
    if (this.count > 0 && this.used + size > this.limit) return false;
    this.used += size;
    this.count++;
    return true;
  }

  /** Bytes counted in so far. */
  get usedBytes(): number {
    return this.used;
  }

  /** The longest prefix of `items` that fits (counted in); at least the first when nothing is in yet. */
  prefix<T>(items: readonly T[]): T[] {
    let kept = 0;
    while (kept < items.length && this.fits(items[kept])) kept++;
    return items.slice(0, kept);
  }

  /** For answers that cannot end early: counts `value` in, or refuses the whole request with LIMIT_EXCEEDED. */
  charge(value: unknown, advice: string): void {
    const size = encodedSize(value);
    if (this.used + size > this.limit) {
      throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `the answer would pass ${DefaultLimits.maxAnswerBytes} bytes: ${advice}`, { details: { limit: DefaultLimits.maxAnswerBytes } });
    }
    this.used += size;
    this.count++;
  }
}
