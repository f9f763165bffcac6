/**
 * Wall-clock arithmetic. A "local" value is a number of milliseconds laid out
 * as if the wall-clock fields were UTC (Date.UTC(y, m-1, d, h, mi, s)). That
 * makes calendar arithmetic (add a day, a month, find a weekday) exact and
 * zone-free; time zones only enter when a local value is turned into an
 * instant (timezones.ts). Weekdays are 0 = Monday … 6 = Sunday, as in BYDAY.
 */

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export interface Fields {
  year: number;
  month: number; // 1..12
  day: number; // 1..31
  hour: number;
  minute: number;
  second: number;
}

/**
 * Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's
 * civil-calendar algorithms). Pure arithmetic: expansion calls these per
 * candidate day, and allocating a Date each time showed up in profiles.
 */
export function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

export function localOf(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  return daysFromCivil(year, month, day) * DAY + hour * HOUR + minute * MINUTE + second * SECOND;
}

export function fieldsOf(local: number): Fields {
  const days = Math.floor(local / DAY);
  const { year, month, day } = civilFromDays(days);
  const t = Math.floor((local - days * DAY) / SECOND);
  return { year, month, day, hour: Math.floor(t / 3600), minute: Math.floor(t / 60) % 60, second: t % 60 };
}

/** Day number (days since 1970-01-01) of a local value. */
export const dayOf = (local: number): number => Math.floor(local / DAY);
export const timeOfDay = (local: number): number => local - dayOf(local) * DAY;
/** 0 = Monday … 6 = Sunday. */
export const weekdayOfDay = (day: number): number => (((day + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
export const dayOfDate = daysFromCivil;

export function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

export function daysInMonth(year: number, month: number): number {
  return [31, isLeapYear(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

export const daysInYear = (year: number): number => (isLeapYear(year) ? 366 : 365);

/** First day of the week containing `day`, weeks starting on `wkst`. */
export const weekStartOf = (day: number, wkst: number): number => day - ((weekdayOfDay(day) - wkst + 7) % 7);

/**
 * First day of week 1 of `year` (RFC 5545 §3.3.10 BYWEEKNO: week 1 is the first
 * week starting on WKST that has at least four days in the year, as in ISO 8601).
 */
export function week1Start(year: number, wkst: number): number {
  return weekStartOf(dayOfDate(year, 1, 4), wkst);
}

/** Week number of `day` and the number of weeks of its week-numbering year. */
export function weekNumberOf(day: number, wkst: number): { week: number; weeksInYear: number } {
  const ws = weekStartOf(day, wkst);
  const weekYear = fieldsOf((ws + 3) * DAY).year; // a week belongs to the year holding its 4th day
  const w1 = week1Start(weekYear, wkst);
  return { week: (ws - w1) / 7 + 1, weeksInYear: (week1Start(weekYear + 1, wkst) - w1) / 7 };
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** 'YYYYMMDD' */
export function formatBasicDate(local: number): string {
  const f = fieldsOf(local);
  return `${pad(f.year, 4)}${pad(f.month)}${pad(f.day)}`;
}

/** 'YYYYMMDDTHHMMSS' (append 'Z' for UTC values). */
export function formatBasicDateTime(local: number): string {
  const f = fieldsOf(local);
  return `${pad(f.year, 4)}${pad(f.month)}${pad(f.day)}T${pad(f.hour)}${pad(f.minute)}${pad(f.second)}`;
}

/** '2026-10-19T09:30:00' or '2026-12-24' for dates. */
export function formatIsoLocal(local: number, dateOnly: boolean): string {
  const f = fieldsOf(local);
  const date = `${pad(f.year, 4)}-${pad(f.month)}-${pad(f.day)}`;
  return dateOnly ? date : `${date}T${pad(f.hour)}:${pad(f.minute)}:${pad(f.second)}`;
}
