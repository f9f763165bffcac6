import { invalid } from './errors.ts';
import { daysInMonth, localOf } from './local-time.ts';

/**
 * A DATE or DATE-TIME value as written, before any zone is applied.
 * `local` holds the wall-clock fields (local-time.ts); for 'utc' those fields
 * are UTC, so `local` is then also the instant.
 */
export interface DateValue {
  kind: 'date' | 'utc' | 'floating';
  local: number;
}

// ical.js hands values over in jCal's extended form; accept the basic form too.
const EXTENDED = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2})(Z)?)?$/;
const BASIC = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z)?)?$/;

export function parseDateValue(text: string, what: string): DateValue {
  const m = EXTENDED.exec(text.trim()) ?? BASIC.exec(text.trim());
  if (!m) throw invalid(`${what} value "${text}" is not a valid DATE or DATE-TIME`);
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || year < 1) {
    throw invalid(`${what} value "${text}" is not a valid date`);
  }
  if (m[4] === undefined) return { kind: 'date', local: localOf(year, month, day) };
  const [hour, minute, second] = [Number(m[4]), Number(m[5]), Number(m[6])];
  if (hour > 23 || minute > 59 || second > 60) throw invalid(`${what} value "${text}" is not a valid time`);
  // A leap second is kept as :59 — wall clocks in the tz database have no :60.
  return { kind: m[7] ? 'utc' : 'floating', local: localOf(year, month, day, hour, minute, Math.min(second, 59)) };
}

const MAX_DURATION_MS = 10_000 * 366 * 86_400_000;

const DURATION = /^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$/;

/** A DURATION split into its nominal (days) and exact (milliseconds) parts, RFC 5545 §3.3.6. */
export interface Duration {
  days: number;
  ms: number;
}

export function parseDuration(text: string, what: string): Duration {
  const m = DURATION.exec(text.trim());
  if (!m || text.trim().endsWith('T') || /^[+-]?P$/.test(text.trim())) throw invalid(`${what} value "${text}" is not a valid DURATION`);
  const sign = m[1] === '-' ? -1 : 1;
  const n = (i: number): number => (m[i] === undefined ? 0 : Number(m[i]));
  const days = n(2) * 7 + n(3);
  const ms = ((n(4) * 60 + n(5)) * 60 + n(6)) * 1000;
  // Nothing longer fits between years 0001 and 9999; larger numbers would overflow date arithmetic (NaN).
  if (days * 86_400_000 + ms > MAX_DURATION_MS) throw invalid(`${what} value "${text}" is longer than any event can last (10,000 years)`);
  return { days: sign * days, ms: sign * ms };
}
