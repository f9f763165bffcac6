import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * Floating and all-day values are stored as their wall clock read as UTC.
 * To place them for a viewer we turn that wall clock into an instant in the
 * viewer's IANA zone, with Intl (the runtime's tz database).
 */

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws INVALID_ARGUMENTS for a zone the runtime does not know. */
export function checkTimeZone(timeZone: string): void {
  try {
    formatter(timeZone);
  } catch {
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `unknown time zone ${JSON.stringify(timeZone)}`);
  }
}

/** Offset of the zone from UTC at an instant, in ms (east positive). */
function offsetAt(timeZone: string, instantMs: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timeZone).formatToParts(new Date(instantMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(instantMs / 1000) * 1000;
}

/**
 * The instant at which the zone's clocks show `wall` (a Date whose UTC fields
 * are the wall clock). In a DST gap the later offset applies; in an overlap
 * the earlier instant wins.
 */
export function wallClockToInstant(wall: Date, timeZone: string): Date {
  if (timeZone === 'UTC') return wall;
  const wallMs = wall.getTime();
  const first = wallMs - offsetAt(timeZone, wallMs);
  const second = wallMs - offsetAt(timeZone, first);
  return new Date(second);
}
