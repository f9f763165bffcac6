import { expandInstances, parseCalendarObject, type Instance } from '../../../server/calendar/ical/index.ts';

/** A VCALENDAR around one VEVENT made of `lines` (UID and DTSTAMP added). */
export function ics(lines: string[], extra: string[] = []): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci tests//EN', ...extra, 'BEGIN:VEVENT', 'UID:test-1', 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

export function expand(text: string, from: string, to: string): Instance[] {
  return expandInstances(parseCalendarObject(text), new Date(from), new Date(to));
}

/** Starts as 'YYYY-MM-DDTHH:MM' wall-clock times in the event's zone. */
export const locals = (instances: Instance[]): string[] => instances.map((i) => i.startLocal.slice(0, 16));

/** 'YYYY-MM-DDTHH:MM' for each day of a month: at('09:00', '1997-09', 2, 3) */
export function at(time: string, month: string, ...days: number[]): string[] {
  return days.map((d) => `${month}-${String(d).padStart(2, '0')}T${time}`);
}

/**
 * The RFC's examples: DTSTART;TZID=America/New_York:<start>, expanded from
 * DTSTART over `years` years, first `take` starts (all when omitted).
 */
export function rfc(start: string, rrule: string, opts: { take?: number; years?: number; extra?: string[] } = {}): string[] {
  const text = ics([`DTSTART;TZID=America/New_York:${start}`, 'DURATION:PT1H', `RRULE:${rrule}`, ...(opts.extra ?? [])]);
  const obj = parseCalendarObject(text);
  const to = new Date(obj.firstStart.getTime() + (opts.years ?? 12) * 366 * 86_400_000);
  const all = locals(expandInstances(obj, obj.firstStart, to));
  return opts.take === undefined ? all : all.slice(0, opts.take);
}
