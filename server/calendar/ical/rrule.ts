import { invalid } from './errors.ts';
import { parseDateValue, type DateValue } from './values.ts';

/**
 * RRULE as data (RFC 5545 §3.3.10), validated. Built from the jCal value
 * ical.js produces; the expansion itself is ours (rrule-iterate.ts, see
 * docs/decisions.md).
 */

export const FREQS = ['SECONDLY', 'MINUTELY', 'HOURLY', 'DAILY', 'WEEKLY', 'MONTHLY', 'YEARLY'] as const;
export type Freq = (typeof FREQS)[number];
/** Index in FREQS: larger is coarser. */
export const freqRank = (f: Freq): number => FREQS.indexOf(f);

export interface WeekdayNum {
  /** 0 = every such weekday in the period; ±n = n-th from the start / end. */
  n: number;
  /** 0 = Monday … 6 = Sunday. */
  wd: number;
}

export interface Rule {
  freq: Freq;
  interval: number;
  count: number | null;
  until: DateValue | null;
  bySecond: number[] | null;
  byMinute: number[] | null;
  byHour: number[] | null;
  byDay: WeekdayNum[] | null;
  byMonthDay: number[] | null;
  byYearDay: number[] | null;
  byWeekNo: number[] | null;
  byMonth: number[] | null;
  bySetPos: number[] | null;
  wkst: number;
}

const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];
/** ical.js encodes WKST as 1 = Sunday … 7 = Saturday. */
const icalJsWeekday = (n: number): number => (n + 5) % 7;

function list(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(list);
  if (typeof value === 'string') return value.split(',').filter((v) => v !== '');
  return [value];
}

function intList(name: string, value: unknown, min: number, max: number, allowNegative: boolean): number[] | null {
  if (value === undefined) return null;
  const out = list(value).map((v) => {
    const n = typeof v === 'number' ? v : /^[+-]?\d+$/.test(String(v).trim()) ? Number(String(v).trim()) : NaN;
    const abs = Math.abs(n);
    if (!Number.isInteger(n) || abs < min || abs > max || (n < 0 && !allowNegative) || (n === 0 && min > 0)) {
      throw invalid(`RRULE ${name.toUpperCase()} value ${String(v)} is out of range`);
    }
    return n;
  });
  if (out.length === 0) throw invalid(`RRULE ${name.toUpperCase()} is empty`);
  return [...new Set(out)].sort((a, b) => a - b);
}

function byDayList(value: unknown): WeekdayNum[] | null {
  if (value === undefined) return null;
  const out = list(value).map((v) => {
    const m = /^([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$/i.exec(String(v).trim());
    if (!m) throw invalid(`RRULE BYDAY value ${String(v)} is not a weekday`);
    const n = m[1] === undefined ? 0 : Number(m[1]);
    if (m[1] !== undefined && (n === 0 || Math.abs(n) > 53)) throw invalid(`RRULE BYDAY value ${String(v)} is out of range`);
    return { n, wd: WEEKDAYS.indexOf(m[2]!.toUpperCase()) };
  });
  if (out.length === 0) throw invalid('RRULE BYDAY is empty');
  return out;
}

function weekday(value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value === 'number' && value >= 1 && value <= 7) return icalJsWeekday(value);
  const i = WEEKDAYS.indexOf(String(value).toUpperCase());
  if (i < 0) throw invalid(`RRULE WKST value ${String(value)} is not a weekday`);
  return i;
}

/** From ical.js's jCal recur value ({freq, count, byday, …}). */
export function ruleFromJcal(data: Record<string, unknown>): Rule {
  const get = (k: string): unknown => data[k];
  const freq = String(get('freq') ?? '').toUpperCase() as Freq;
  if (!FREQS.includes(freq)) throw invalid(`RRULE FREQ ${String(get('freq'))} is not valid`);
  const interval = get('interval') === undefined ? 1 : Number(get('interval'));
  if (!Number.isInteger(interval) || interval < 1) throw invalid('RRULE INTERVAL must be a positive integer');
  const count = get('count') === undefined ? null : Number(get('count'));
  if (count !== null && (!Number.isInteger(count) || count < 1)) throw invalid('RRULE COUNT must be a positive integer');
  const untilRaw = get('until');
  const until = untilRaw === undefined ? null : parseDateValue(String(untilRaw), 'RRULE UNTIL');

  const rule: Rule = {
    freq,
    interval,
    count,
    until,
    bySecond: intList('bysecond', get('bysecond'), 0, 60, false),
    byMinute: intList('byminute', get('byminute'), 0, 59, false),
    byHour: intList('byhour', get('byhour'), 0, 23, false),
    byDay: byDayList(get('byday')),
    byMonthDay: intList('bymonthday', get('bymonthday'), 1, 31, true),
    byYearDay: intList('byyearday', get('byyearday'), 1, 366, true),
    byWeekNo: intList('byweekno', get('byweekno'), 1, 53, true),
    byMonth: intList('bymonth', get('bymonth'), 1, 12, false),
    bySetPos: intList('bysetpos', get('bysetpos'), 1, 366, true),
    wkst: weekday(get('wkst')),
  };
  // A leap second (60) has no wall-clock slot of its own; RFC 5545 lets us treat it as :59.
  if (rule.bySecond) rule.bySecond = [...new Set(rule.bySecond.map((s) => Math.min(s, 59)))];
  checkCombinations(rule);
  return rule;
}

/** The MUST NOTs of RFC 5545 §3.3.10: reject rather than guess what the sender meant. */
function checkCombinations(r: Rule): void {
  if (r.byWeekNo && r.freq !== 'YEARLY') throw invalid('RRULE BYWEEKNO is only valid with FREQ=YEARLY');
  if (r.byYearDay && (r.freq === 'DAILY' || r.freq === 'WEEKLY' || r.freq === 'MONTHLY')) {
    throw invalid(`RRULE BYYEARDAY is not valid with FREQ=${r.freq}`);
  }
  if (r.byMonthDay && r.freq === 'WEEKLY') throw invalid('RRULE BYMONTHDAY is not valid with FREQ=WEEKLY');
  if (r.byDay?.some((d) => d.n !== 0)) {
    if (r.freq !== 'MONTHLY' && r.freq !== 'YEARLY') throw invalid(`RRULE BYDAY with a number is only valid with FREQ=MONTHLY or YEARLY, not ${r.freq}`);
    if (r.freq === 'YEARLY' && r.byWeekNo) throw invalid('RRULE BYDAY with a number is not valid together with BYWEEKNO');
    if (r.freq === 'MONTHLY' && r.byDay.some((d) => Math.abs(d.n) > 5)) throw invalid('RRULE BYDAY ordinal is out of range for FREQ=MONTHLY');
  }
  if (r.bySetPos && !(r.bySecond || r.byMinute || r.byHour || r.byDay || r.byMonthDay || r.byYearDay || r.byWeekNo || r.byMonth)) {
    throw invalid('RRULE BYSETPOS needs another BYxxx rule part');
  }
}

/** SECONDLY/MINUTELY rules must be bounded: one such series could otherwise fill any index. */
export function checkBounded(rule: Rule): void {
  if ((rule.freq === 'SECONDLY' || rule.freq === 'MINUTELY') && rule.count === null && rule.until === null) {
    throw invalid(`RRULE FREQ=${rule.freq} without COUNT or UNTIL is unbounded`);
  }
}
