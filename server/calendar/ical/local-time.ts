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

export function localOf(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): number {
  // Date.UTC maps years 0..99 to 1900+; setUTCFullYear avoids that for old VTIMEZONE rules.
  if (year >= 100) return Date.UTC(year, month - 1, day, hour, minute, second);
  const d = new Date(Date.UTC(2000, 0, 1, hour, minute, second));
  d.setUTCFullYear(year, month - 1, day);
  return d.getTime();
}

export function fieldsOf(local: number): Fields {
  const d = new Date(local);
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** Day number (days since 1970-01-01) of a local value. */
export const dayOf = (local: number): number => Math.floor(local / DAY);
export const timeOfDay = (local: number): number => local - dayOf(local) * DAY;
/** 0 = Monday … 6 = Sunday. */
export const weekdayOfDay = (day: number): number => (((day + 3) % 7) + 7) % 7; // 1970-01-01 was a Thursday
export const dayOfDate = (year: number, month: number, day: number): number => dayOf(localOf(year, month, day));

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
