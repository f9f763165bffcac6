import { DAY, dayOf, formatBasicDate, formatBasicDateTime } from './local-time.ts';
import type { Rule } from './rrule.ts';
import { toUtc, type Zone } from './timezones.ts';
import type { ParsedCalendarObject, ParsedEvent } from './types.ts';
import type { DateValue, Duration } from './values.ts';

/**
 * What expansion needs beyond the public ParsedEvent: the values as written,
 * their zones, the rule. Kept beside the public object in a WeakMap so the
 * public shape stays plain data.
 *
 * Recurrence ids are compared as numbers: the UTC instant for timed series;
 * for floating and all-day series the wall-clock value read as UTC (which is
 * also how their instances are placed).
 */

export type Kind = 'zoned' | 'utc' | 'floating' | 'date';

export type DurationSpec = { kind: 'exact'; ms: number } | ({ kind: 'nominal' } & Duration);

export interface RDateSpec {
  rid: number;
  /** End of a PERIOD value; null = use the event's duration. */
  end: number | null;
}

export interface EventModel {
  event: ParsedEvent;
  kind: Kind;
  /** Zone of DTSTART; UTC_ZONE for UTC, floating and all-day values. */
  zone: Zone;
  startLocal: number;
  startUtc: number;
  duration: DurationSpec;
  rule: Rule | null;
  rdates: RDateSpec[];
  exdates: Set<number>;
  /** EXDATEs given as DATE on a timed series: every instance on that local day. */
  exdateDays: Set<number>;
  /** Numeric recurrence id of an override. */
  rid: number | null;
}

export interface ObjectModel {
  master: EventModel | null;
  overrides: EventModel[];
}

const models = new WeakMap<ParsedCalendarObject, ObjectModel>();
export const attachModel = (obj: ParsedCalendarObject, model: ObjectModel): void => void models.set(obj, model);
export const modelOf = (obj: ParsedCalendarObject): ObjectModel | undefined => models.get(obj);

export function canonicalRid(rid: number, kind: Kind): string {
  if (kind === 'date') return formatBasicDate(rid);
  if (kind === 'floating') return formatBasicDateTime(rid);
  return `${formatBasicDateTime(rid)}Z`;
}

/**
 * A RECURRENCE-ID, EXDATE or RDATE value as a numeric recurrence id of a
 * series of `kind` in `zone`. Returns {day} for a DATE given against a timed
 * series (EXDATE;VALUE=DATE on a timed series excludes that whole day).
 */
export function ridOf(value: DateValue, valueZone: Zone | null, kind: Kind, zone: Zone): number | { day: number } {
  if (kind === 'date') return dayOf(value.local) * DAY;
  if (kind === 'floating') return value.local;
  if (value.kind === 'date') return { day: dayOf(value.local) };
  if (value.kind === 'utc') return value.local;
  // A floating value against a zoned series is read in the series' zone.
  return toUtc(valueZone ?? zone, value.local);
}

/** Exact end of an instance starting at `startUtc` (wall-clock `startLocal` in `zone`), RFC 5545 §3.8.5.3. */
export function endOf(duration: DurationSpec, zone: Zone, startUtc: number, startLocal: number): number {
  if (duration.kind === 'exact') return startUtc + duration.ms;
  // DURATION: days are nominal (same wall time N days later), the rest exact.
  const base = duration.days === 0 ? startUtc : toUtc(zone, startLocal + duration.days * DAY);
  return base + duration.ms;
}
