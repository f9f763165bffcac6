import { DAY, SECOND, formatIsoLocal, localOf } from './local-time.ts';
import { windowsZoneToIana } from './windows-zones.ts';

/**
 * A time zone as this module needs it: the UTC offset at an instant. Two
 * implementations: the runtime's tz database through Intl (IANA names and
 * Windows names mapped to them) and an embedded VTIMEZONE (vtimezone.ts).
 */
export interface Zone {
  /** IANA name when one is known, else the TZID as written. */
  readonly name: string;
  /** The IANA name, or null for a VTIMEZONE that names no known zone. */
  readonly iana: string | null;
  /** Offset in ms: local = utc + offsetAt(utc). */
  offsetAt(utc: number): number;
}

export const UTC_ZONE: Zone = { name: 'UTC', iana: null, offsetAt: () => 0 };

/**
 * Local wall-clock value → instant, RFC 5545 §3.3.5: a local time that occurs
 * twice means the first occurrence; one that does not occur (a DST gap) is
 * read with the offset before the gap, i.e. it moves forward by the gap length.
 */
export function toUtc(zone: Zone, local: number): number {
  if (zone === UTC_ZONE) return local;
  const before = zone.offsetAt(local - DAY);
  const after = zone.offsetAt(local + DAY);
  const a = local - before;
  const b = local - after;
  const aValid = zone.offsetAt(a) === before;
  const bValid = zone.offsetAt(b) === after;
  if (aValid && bValid) return Math.min(a, b);
  if (aValid) return a;
  if (bValid) return b;
  return a;
}

export const toLocal = (zone: Zone, utc: number): number => utc + zone.offsetAt(utc);

const WEEK = 7 * DAY;
/** The tz database only knows years 1..9999 through Intl; clamp, these are far outside any real event. */
const MIN_UTC = localOf(1, 1, 2);
const MAX_UTC = localOf(9999, 12, 30);

/**
 * An IANA zone through Intl. Intl is slow (~3 µs a call), so offsets are
 * cached per week: the offset at both ends of the week, and where they differ
 * the transition instant found by bisection. (Assumes at most one transition
 * a week, true of every zone in the tz database.)
 */
class IntlZone implements Zone {
  readonly iana: string;
  private readonly format: Intl.DateTimeFormat;
  private readonly edges = new Map<number, number>();
  private readonly transitions = new Map<number, number>();

  constructor(readonly name: string) {
    this.iana = name;
    this.format = new Intl.DateTimeFormat('en-US', {
      timeZone: name,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      era: 'short',
    });
  }

  offsetAt(utc: number): number {
    const t = Math.min(Math.max(utc, MIN_UTC), MAX_UTC);
    const week = Math.floor(t / WEEK);
    const o0 = this.edge(week);
    const o1 = this.edge(week + 1);
    if (o0 === o1) return o0;
    let transition = this.transitions.get(week);
    if (transition === undefined) {
      let lo = week * WEEK;
      let hi = (week + 1) * WEEK;
      while (hi - lo > SECOND) {
        const mid = Math.floor((lo + hi) / 2 / SECOND) * SECOND;
        if (this.raw(mid) === o0) lo = mid;
        else hi = mid;
      }
      transition = hi;
      this.transitions.set(week, transition);
    }
    return t < transition ? o0 : o1;
  }

  private edge(week: number): number {
    let o = this.edges.get(week);
    if (o === undefined) {
      if (this.edges.size > 200_000) this.edges.clear();
      o = this.raw(week * WEEK);
      this.edges.set(week, o);
    }
    return o;
  }

  private raw(utc: number): number {
    const t = Math.floor(utc / SECOND) * SECOND;
    const parts: Record<string, string> = {};
    for (const p of this.format.formatToParts(t)) parts[p.type] = p.value;
    let year = Number(parts.year);
    if (parts.era === 'BC' || parts.era === 'B') year = 1 - year;
    const local = localOf(year, Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    return local - t;
  }
}

const intlZones = new Map<string, Zone | null>();

/** The zone for an IANA name the runtime knows, else null. */
export function ianaZone(name: string): Zone | null {
  let zone = intlZones.get(name);
  if (zone === undefined) {
    try {
      zone = new IntlZone(name);
    } catch {
      zone = null; // RangeError: not a time zone Intl knows
    }
    intlZones.set(name, zone);
  }
  return zone;
}

/**
 * The IANA name a TZID stands for: itself when Intl knows it, a Windows name
 * through CLDR's windowsZones table, else null.
 */
export function ianaNameFor(tzid: string): string | null {
  if (ianaZone(tzid)) return tzid;
  const mapped = windowsZoneToIana(tzid);
  return mapped && ianaZone(mapped) ? mapped : null;
}

/**
 * The IANA name behind a VTIMEZONE, for display: its TZID, X-LIC-LOCATION, or
 * an IANA name at the end of a vendor path such as "/mozilla.org/20050126_1/America/New_York".
 */
export function ianaNameForVtimezone(tzid: string, licLocation: string | null): string | null {
  const direct = ianaNameFor(tzid) ?? (licLocation ? ianaNameFor(licLocation) : null);
  if (direct) return direct;
  const segments = tzid.split('/').filter((s) => s !== '');
  for (let n = Math.min(3, segments.length); n >= 2; n--) {
    const candidate = segments.slice(-n).join('/');
    if (ianaZone(candidate)) return candidate;
  }
  return null;
}

/** ISO local text of an instant in a zone, for startLocal/endLocal. */
export const isoInZone = (zone: Zone, utc: number, dateOnly: boolean): string => formatIsoLocal(toLocal(zone, utc), dateOnly);
