import { ErrorCode, type WorkingHours } from '../../protocol/index.ts';
import { toLocal, toUtc } from '../calendar/ical/timezones.ts';
import { zoneOf } from '../calendar/zoned-time.ts';
import { DmciError } from '../errors.ts';
import type { DomainFreeBusyRow, OwnAvailability } from './freebusy.repository.ts';

/**
 * Working hours: ISO weekdays, start and end as minutes after local midnight,
 * in the account's own IANA zone; the account's own values (any field left
 * null) fall back to its domain's defaults (09:00–17:00, Monday to Friday,
 * UTC unless the domain says otherwise).
 */

export interface Hours {
  days: number[];
  start: number;
  end: number;
  timeZone: string;
}

const DAY_MS = 86_400_000;

export function effectiveHours(domain: DomainFreeBusyRow, own: OwnAvailability | null | undefined): { hours: Hours; isDefault: boolean } {
  const hours = {
    days: own?.work_days ?? domain.work_days,
    start: own?.work_start ?? domain.work_start,
    end: own?.work_end ?? domain.work_end,
    timeZone: own?.time_zone ?? domain.work_time_zone,
  };
  const isDefault = !own || (own.work_days === null && own.work_start === null && own.work_end === null && own.time_zone === null);
  return { hours, isDefault };
}

const clock = (minutes: number) => `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

export function renderHours(hours: Hours): WorkingHours {
  return { days: [...hours.days].sort((a, b) => a - b), start: clock(hours.start), end: clock(hours.end), timeZone: hours.timeZone };
}

/** Protocol working hours → stored form; INVALID_ARGUMENTS for an unknown zone or an end not after the start. */
export function parseHours(input: WorkingHours): Hours {
  const minutes = (text: string) => Number(text.slice(0, 2)) * 60 + Number(text.slice(3, 5));
  const start = minutes(input.start);
  const end = minutes(input.end);
  if (end <= start) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'working hours must end after they start');
  zoneOf(input.timeZone);
  return { days: [...new Set(input.days)].sort((a, b) => a - b), start, end, timeZone: input.timeZone };
}

/** The working intervals (UTC ms, in time order) overlapping [from, to), clipped to it. */
export function workingIntervals(hours: Hours, from: number, to: number): Array<{ start: number; end: number }> {
  const zone = zoneOf(hours.timeZone);
  const out: Array<{ start: number; end: number }> = [];
  // Local days from the one holding `from` (minus a day for zones ahead of UTC) to the one past `to`.
  const firstDay = Math.floor(toLocal(zone, from) / DAY_MS) - 1;
  const lastDay = Math.floor(toLocal(zone, to) / DAY_MS) + 1;
  for (let day = firstDay; day <= lastDay; day++) {
    // 1970-01-01 was a Thursday (ISO 4).
    const isoWeekday = ((((day + 3) % 7) + 7) % 7) + 1;
    if (!hours.days.includes(isoWeekday)) continue;
    const start = Math.max(from, toUtc(zone, day * DAY_MS + hours.start * 60_000));
    const end = Math.min(to, toUtc(zone, day * DAY_MS + hours.end * 60_000));
    if (start < end) out.push({ start, end });
  }
  return out;
}
