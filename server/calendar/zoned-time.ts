import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import { ianaZone, toUtc, UTC_ZONE, type Zone } from './ical/timezones.ts';

/**
 * Floating and all-day values are stored as their wall clock read as UTC.
 * To place them for a viewer we turn that wall clock into an instant in the
 * viewer's IANA zone — with the same conversion the recurrence engine uses
 * (RFC 5545 §3.3.5: a time in a DST gap moves forward by the gap, a time in
 * an overlap means its first occurrence), which is also what PostgreSQL's
 * `AT TIME ZONE` does for the indexed rows, so both paths agree.
 */

/** The zone of an IANA name (UTC included); INVALID_ARGUMENTS for one the runtime does not know. */
export function zoneOf(timeZone: string): Zone {
  if (timeZone === 'UTC') return UTC_ZONE;
  const zone = ianaZone(timeZone);
  if (!zone) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `unknown time zone ${JSON.stringify(timeZone)}`);
  return zone;
}

/** Throws INVALID_ARGUMENTS for a zone the runtime does not know. */
export function checkTimeZone(timeZone: string): void {
  zoneOf(timeZone);
}

/** The instant at which the zone's clocks show `wall` (a Date whose UTC fields are the wall clock). */
export function wallClockToInstant(wall: Date, timeZone: string): Date {
  return new Date(toUtc(zoneOf(timeZone), wall.getTime()));
}
