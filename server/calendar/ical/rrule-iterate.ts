import { tooBig } from './errors.ts';
import {
  DAY,
  HOUR,
  civilFromDays,
  MINUTE,
  SECOND,
  dayOf,
  dayOfDate,
  daysInMonth,
  daysInYear,
  fieldsOf,
  weekNumberOf,
  weekStartOf,
  weekdayOfDay,
} from './local-time.ts';
import { freqRank, type Rule, type WeekdayNum } from './rrule.ts';
import { chargeWork } from './work-budget.ts';

/**
 * RRULE expansion (RFC 5545 §3.3.10) in wall-clock time. Yields local values
 * (local-time.ts) in ascending order; the caller applies the zone.
 *
 * The rule is evaluated period by period (a year, month, week, day); within a
 * period the candidate days are all days of the period that pass every BYxxx
 * day filter. "Expand" and "limit" in the RFC's table are both intersections
 * of that kind once the defaults taken from DTSTART are filled in, which is
 * why one filter pass covers every combination. Invalid dates (Feb 30) are
 * never candidates, so they are skipped and not counted, as §3.3.10 requires.
 * Sub-daily rules walk days and step through the interval grid inside each day.
 */

export interface IterateOptions {
  /** Instances before this local value are not wanted: without COUNT, iteration may begin at the period holding it. */
  fromLocal?: number;
  /** Stop once a period starts after this local value. */
  toLocal?: number;
  /** True when a local value lies past UNTIL (the caller knows the zone UNTIL must be compared in). */
  pastUntil?: (local: number) => boolean;
  /** Work budget (days and candidates looked at) before LIMIT_EXCEEDED. */
  maxSteps?: number;
}

/** Periods examined, summed over all iterations; lets tests prove a window does not walk from DTSTART. */
export const iterationStats = { periods: 0 };

const MAX_YEAR = 9999;
/** Every pattern of days repeats in the 400-year Gregorian cycle: this many empty periods in a row means "never again". */
const EMPTY_LIMIT: Record<string, number> = { YEARLY: 400, MONTHLY: 4800, WEEKLY: 20_871, DAILY: 146_097 };

interface DayInfo {
  day: number;
  year: number;
  month: number;
  mday: number;
  yday: number;
}

interface Plan {
  rule: Rule;
  months: Set<number> | null;
  weekNos: Set<number> | null;
  yearDays: Set<number> | null;
  monthDays: Set<number> | null;
  plainDays: Set<number> | null;
  nthDays: WeekdayNum[];
  hasDayFilter: boolean;
  /** null = every value on the interval grid (sub-daily frequencies). */
  hours: number[] | null;
  minutes: number[] | null;
  seconds: number[] | null;
  /** Times of day (ms) for DAILY and coarser. */
  times: number[];
}

const setOf = (xs: number[] | null): Set<number> | null => (xs ? new Set(xs) : null);
const mod = (a: number, n: number): number => ((a % n) + n) % n;
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function makePlan(rule: Rule, dtstart: number, isDate: boolean): Plan {
  const s = fieldsOf(dtstart);
  const startWd = weekdayOfDay(dayOf(dtstart));
  let { byMonth, byMonthDay, byDay } = rule;
  // Parts the rule leaves open come from DTSTART (§3.3.10, "Information, not contained in the rule …").
  if (rule.freq === 'YEARLY') {
    if (!rule.byWeekNo && !rule.byYearDay && !byMonthDay && !byDay) {
      byMonth ??= [s.month];
      byMonthDay = [s.day];
    } else if (rule.byWeekNo && !rule.byYearDay && !byMonthDay && !byDay) {
      byDay = [{ n: 0, wd: startWd }];
    }
  } else if (rule.freq === 'MONTHLY') {
    if (!byMonthDay && !byDay) byMonthDay = [s.day];
  } else if (rule.freq === 'WEEKLY') {
    byDay ??= [{ n: 0, wd: startWd }];
  }
  const rank = freqRank(rule.freq);
  // BYHOUR/BYMINUTE/BYSECOND are ignored for DATE starts (§3.3.10).
  const hours = isDate ? [0] : (rule.byHour ?? (rank > freqRank('HOURLY') ? [s.hour] : null));
  const minutes = isDate ? [0] : (rule.byMinute ?? (rank > freqRank('MINUTELY') ? [s.minute] : null));
  const seconds = isDate ? [0] : (rule.bySecond ?? (rank > freqRank('SECONDLY') ? [s.second] : null));
  const times: number[] = [];
  if (hours && minutes && seconds) {
    for (const h of hours) for (const m of minutes) for (const sec of seconds) times.push(h * HOUR + m * MINUTE + sec * SECOND);
    times.sort((a, b) => a - b);
  }
  const plainDays = byDay?.some((d) => d.n === 0) ? new Set(byDay.filter((d) => d.n === 0).map((d) => d.wd)) : null;
  const nthDays = byDay?.filter((d) => d.n !== 0) ?? [];
  return {
    rule,
    months: setOf(byMonth),
    weekNos: setOf(rule.byWeekNo),
    yearDays: setOf(rule.byYearDay),
    monthDays: setOf(byMonthDay),
    plainDays,
    nthDays,
    hasDayFilter: !!(byMonth || rule.byWeekNo || rule.byYearDay || byMonthDay || byDay),
    hours,
    minutes,
    seconds,
    times,
  };
}

function dayMatches(p: Plan, d: DayInfo): boolean {
  if (p.months && !p.months.has(d.month)) return false;
  if (p.weekNos) {
    const { week, weeksInYear } = weekNumberOf(d.day, p.rule.wkst);
    if (!p.weekNos.has(week) && !p.weekNos.has(week - weeksInYear - 1)) return false;
  }
  if (p.yearDays && !p.yearDays.has(d.yday) && !p.yearDays.has(d.yday - daysInYear(d.year) - 1)) return false;
  if (p.monthDays && !p.monthDays.has(d.mday) && !p.monthDays.has(d.mday - daysInMonth(d.year, d.month) - 1)) return false;
  if (p.plainDays || p.nthDays.length > 0) {
    const wd = weekdayOfDay(d.day);
    if (p.plainDays?.has(wd)) return true;
    // "5MO" counts within the month for MONTHLY, and for YEARLY with BYMONTH; else within the year (§3.3.10 BYDAY).
    const inMonth = p.rule.freq === 'MONTHLY' || p.months !== null;
    const pos = inMonth ? d.mday : d.yday;
    const len = inMonth ? daysInMonth(d.year, d.month) : daysInYear(d.year);
    const fromStart = Math.floor((pos - 1) / 7) + 1;
    const fromEnd = Math.floor((len - pos) / 7) + 1;
    return p.nthDays.some((x) => x.wd === wd && (x.n > 0 ? x.n === fromStart : -x.n === fromEnd));
  }
  return true;
}

function infoOf(day: number): DayInfo {
  const f = civilFromDays(day);
  return { day, year: f.year, month: f.month, mday: f.day, yday: day - dayOfDate(f.year, 1, 1) + 1 };
}

const MAX_DAY = dayOfDate(MAX_YEAR + 1, 1, 1);

/** Days of one period of a DAILY-or-coarser rule, in order. `k` counts periods of `interval` from DTSTART's period. */
function periodStartDay(rule: Rule, origin: DayInfo, k: number): number {
  switch (rule.freq) {
    case 'YEARLY':
      return dayOfDate(origin.year + k * rule.interval, 1, 1);
    case 'MONTHLY': {
      const mi = origin.year * 12 + origin.month - 1 + k * rule.interval;
      return dayOfDate(Math.floor(mi / 12), (mi % 12) + 1, 1);
    }
    case 'WEEKLY':
      return weekStartOf(origin.day, rule.wkst) + k * 7 * rule.interval;
    default:
      return origin.day + k * rule.interval;
  }
}

function periodDays(p: Plan, start: number): DayInfo[] {
  const out: DayInfo[] = [];
  const push = (d: DayInfo): void => {
    if (dayMatches(p, d)) out.push(d);
  };
  const { freq } = p.rule;
  if (freq === 'YEARLY' || freq === 'MONTHLY') {
    const first = infoOf(start);
    const months = freq === 'MONTHLY' ? [first.month] : p.months && !p.weekNos ? [...p.months].sort((a, b) => a - b) : range(12).map((m) => m + 1);
    for (const month of months) {
      const day0 = dayOfDate(first.year, month, 1);
      const yday0 = day0 - dayOfDate(first.year, 1, 1) + 1;
      const n = daysInMonth(first.year, month);
      for (let i = 0; i < n; i++) push({ day: day0 + i, year: first.year, month, mday: i + 1, yday: yday0 + i });
    }
  } else if (freq === 'DAILY' && !p.hasDayFilter) {
    out.push({ day: start, year: 0, month: 0, mday: 0, yday: 0 }); // no filter reads the fields
  } else {
    const n = freq === 'WEEKLY' ? 7 : 1;
    for (let i = 0; i < n; i++) push(infoOf(start + i));
  }
  return out;
}

const HOURS = range(24);
const MINUTES = range(60);

/** Values in [0, n) on the grid first, first + step, …, restricted to `only` when given; walks whichever is shorter. */
function aligned(n: number, first: number, step: number, only: number[] | null): number[] {
  if (only && only.length < (n - first) / step) return only.filter((v) => v >= first && (v - first) % step === 0);
  const out: number[] = [];
  for (let v = first; v < n; v += step) if (!only || only.includes(v)) out.push(v);
  return out;
}

function pickSetPos<T>(items: T[], positions: number[] | null): T[] {
  if (!positions) return items;
  const picked = new Set<number>();
  for (const pos of positions) {
    const i = pos > 0 ? pos - 1 : items.length + pos;
    if (i >= 0 && i < items.length) picked.add(i);
  }
  return [...picked].sort((a, b) => a - b).map((i) => items[i]!);
}

/** Periods to jump over so iteration begins at the period holding `fromLocal` (never before DTSTART's). */
function periodsBefore(rule: Rule, origin: DayInfo, fromLocal: number): number {
  const target = infoOf(dayOf(fromLocal));
  let units: number;
  switch (rule.freq) {
    case 'YEARLY':
      units = target.year - origin.year;
      break;
    case 'MONTHLY':
      units = target.year * 12 + target.month - (origin.year * 12 + origin.month);
      break;
    case 'WEEKLY':
      units = (weekStartOf(target.day, rule.wkst) - weekStartOf(origin.day, rule.wkst)) / 7;
      break;
    default:
      units = target.day - origin.day;
  }
  return Math.max(0, Math.floor(units / rule.interval));
}

/** Instances per full period when every period yields the same number (COUNT can then be skipped arithmetically). */
function uniformPerPeriod(p: Plan): number | null {
  const r = p.rule;
  if (r.bySetPos || r.byMonth || r.byMonthDay || r.byYearDay || r.byWeekNo) return null;
  if (r.freq === 'DAILY' && !r.byDay) return p.times.length;
  if (r.freq === 'WEEKLY' && p.nthDays.length === 0 && p.plainDays) return p.plainDays.size * p.times.length;
  return null;
}

/**
 * For a COUNT rule whose periods all yield the same number of instances, a
 * local value at or after its last instance (within two periods); else null.
 * Lets callers find the end of a long COUNT series without walking it.
 */
export function countEndEstimate(rule: Rule, dtstart: number, isDate: boolean): number | null {
  if (rule.count === null) return null;
  const perPeriod = uniformPerPeriod(makePlan(rule, dtstart, isDate));
  if (!perPeriod) return null;
  const periodMs = rule.freq === 'DAILY' ? DAY : 7 * DAY;
  return dtstart + (Math.ceil(rule.count / perPeriod) + 1) * rule.interval * periodMs;
}

export function* iterateRule(rule: Rule, dtstart: number, isDate: boolean, opts: IterateOptions = {}): Generator<number, void, undefined> {
  const pastUntil = opts.pastUntil ?? (() => false);
  const maxSteps = opts.maxSteps ?? 2_000_000;
  let steps = 0;
  const spend = (n: number): void => {
    chargeWork(n);
    steps += n;
    if (steps > maxSteps) throw tooBig(`RRULE ${rule.freq} expansion needs more than ${maxSteps} steps`);
  };

  // DTSTART is always the first instance and counts toward COUNT (§3.8.5.3), matching the rule or not.
  yield dtstart;
  let count = 1;
  if (rule.count !== null && count >= rule.count) return;

  const plan = makePlan(rule, dtstart, isDate);
  const origin = infoOf(dayOf(dtstart));
  const wanted = (c: number): 'skip' | 'stop' | 'yield' => (c <= dtstart ? 'skip' : pastUntil(c) ? 'stop' : 'yield');

  if (freqRank(rule.freq) < freqRank('DAILY')) {
    yield* iterateSubDaily(plan, dtstart, origin, opts, spend, () => ++count, wanted);
    return;
  }

  const fromLocal = opts.fromLocal ?? -Infinity;
  const perPeriod = rule.count === null ? null : uniformPerPeriod(plan);
  let k = 0;
  if (rule.count === null && fromLocal > dtstart) k = periodsBefore(rule, origin, fromLocal);
  let empty = 0;
  for (; ; k++) {
    if (k === 1 && perPeriod !== null && fromLocal > dtstart) {
      // Whole periods before the window each add `perPeriod` to COUNT; skip them without generating.
      const skip = Math.min(periodsBefore(rule, origin, fromLocal) - 1, Math.floor((rule.count! - count) / perPeriod));
      if (skip > 0) {
        count += skip * perPeriod;
        k += skip;
      }
    }
    const start = periodStartDay(rule, origin, k);
    if (opts.toLocal !== undefined && start * DAY > opts.toLocal) return;
    if (start >= MAX_DAY) return;
    iterationStats.periods++;
    const days = periodDays(plan, start);
    spend(1 + days.length * plan.times.length);
    const candidates: number[] = [];
    for (const d of days) for (const t of plan.times) candidates.push(d.day * DAY + t);
    const picked = pickSetPos(candidates, rule.bySetPos);
    if (picked.length === 0) {
      if (++empty > (EMPTY_LIMIT[rule.freq] ?? Infinity)) return;
      continue;
    }
    empty = 0;
    for (const c of picked) {
      const w = wanted(c);
      if (w === 'skip') continue;
      if (w === 'stop') return;
      yield c;
      if (rule.count !== null && ++count >= rule.count) return;
    }
  }
}

function* iterateSubDaily(
  p: Plan,
  dtstart: number,
  origin: DayInfo,
  opts: IterateOptions,
  spend: (n: number) => void,
  counted: () => number,
  wanted: (c: number) => 'skip' | 'stop' | 'yield',
): Generator<number, void, undefined> {
  const r = p.rule;
  const unit = r.freq === 'HOURLY' ? HOUR : r.freq === 'MINUTELY' ? MINUTE : SECOND;
  const startUnit = Math.floor(dtstart / unit);
  const step = r.interval;
  let day = origin.day;
  if (r.count === null && opts.fromLocal !== undefined) day = Math.max(day, dayOf(opts.fromLocal));
  let empty = 0;
  for (; ; day++) {
    if (opts.toLocal !== undefined && day * DAY > opts.toLocal) return;
    if (day >= MAX_DAY) return;
    iterationStats.periods++;
    spend(1);
    if (p.hasDayFilter && !dayMatches(p, infoOf(day))) {
      if (++empty > EMPTY_LIMIT.DAILY!) return;
      continue;
    }
    // One group per grid unit (an hour, minute or second): BYSETPOS applies within it.
    const groups: number[][] = [];
    const base = day * DAY;
    if (r.freq === 'HOURLY') {
      for (const h of aligned(24, mod(startUnit - base / unit, step), step, p.hours)) {
        const g: number[] = [];
        for (const m of p.minutes!) for (const s of p.seconds!) g.push(base + h * HOUR + m * MINUTE + s * SECOND);
        groups.push(g.sort((a, b) => a - b));
      }
    } else {
      for (const h of p.hours ?? HOURS) {
        const hourStart = base + h * HOUR;
        if (r.freq === 'MINUTELY') {
          spend(1);
          for (const m of aligned(60, mod(startUnit - hourStart / unit, step), step, p.minutes)) {
            groups.push(p.seconds!.map((s) => hourStart + m * MINUTE + s * SECOND));
          }
        } else {
          for (const m of p.minutes ?? MINUTES) {
            const minuteStart = hourStart + m * MINUTE;
            spend(1);
            for (const s of aligned(60, mod(startUnit - minuteStart / unit, step), step, p.seconds)) groups.push([minuteStart + s * SECOND]);
          }
        }
      }
    }
    let any = false;
    for (const g of groups) {
      const picked = pickSetPos(g, r.bySetPos);
      spend(g.length);
      for (const c of picked) {
        any = true;
        const w = wanted(c);
        if (w === 'skip') continue;
        if (w === 'stop') return;
        yield c;
        if (r.count !== null && counted() >= r.count) return;
      }
    }
    if (!any && ++empty > EMPTY_LIMIT.DAILY!) return;
    if (any) empty = 0;
  }
}
