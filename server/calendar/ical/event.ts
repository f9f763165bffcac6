import { busyTypeOf } from './busy.ts';
import { invalid } from './errors.ts';
import { type JComp, type JProp, param, prop, props, text, values } from './jcal.ts';
import { DAY, formatIsoLocal } from './local-time.ts';
import { canonicalRid, endOf, ridOf, type DurationSpec, type EventModel, type Kind, type RDateSpec } from './model.ts';
import { checkBounded, freqRank, ruleFromJcal, type Rule } from './rrule.ts';
import { UTC_ZONE, isoInZone, toUtc, type Zone } from './timezones.ts';
import type { Attendee, Classification, EventStatus, ParsedEvent } from './types.ts';
import { parseDateValue, parseDuration, type DateValue } from './values.ts';

/** Resolves a TZID (embedded VTIMEZONE, IANA, Windows) or throws "unknown time zone". */
export type ZoneResolver = (tzid: string) => Zone;

/** The series an override belongs to: its RECURRENCE-ID is read in the master's terms. */
export interface SeriesContext {
  kind: Kind;
  zone: Zone;
  /** Wall-clock time of day of DTSTART (ms), for a DATE RECURRENCE-ID on a timed series. */
  timeOfDay: number;
}

interface TimeValue {
  value: DateValue;
  tzid: string | null;
  zone: Zone | null;
}

function readTime(p: JProp, what: string, resolve: ZoneResolver): TimeValue {
  const raw = values(p)[0];
  if (typeof raw !== 'string') throw invalid(`${what} has no value`);
  const value = parseDateValue(raw, what);
  // A TZID on a UTC or DATE value means nothing (RFC 5545 §3.2.19); it is still checked, so typos are caught.
  const tzid = param(p, 'tzid');
  const zone = tzid === null ? null : resolve(tzid);
  return { value, tzid, zone: value.kind === 'floating' ? zone : null };
}

const kindOf = (t: TimeValue): Kind => (t.value.kind === 'date' ? 'date' : t.value.kind === 'utc' ? 'utc' : t.zone ? 'zoned' : 'floating');
const instantOf = (t: TimeValue, fallback: Zone): number => (t.value.kind === 'floating' ? toUtc(t.zone ?? fallback, t.value.local) : t.value.local);

function classification(v: string | null): Classification {
  const c = v?.trim().toUpperCase() ?? 'PUBLIC';
  // Unknown classes are treated as PRIVATE (RFC 5545 §3.8.1.3).
  return c === 'PUBLIC' || c === 'CONFIDENTIAL' ? c : 'PRIVATE';
}

function statusOf(v: string | null): EventStatus {
  const s = v?.trim().toUpperCase();
  return s === 'CONFIRMED' || s === 'TENTATIVE' || s === 'CANCELLED' ? s : null;
}

const address = (v: unknown): string => String(v ?? '').replace(/^mailto:/i, '').trim();

function attendees(c: JComp): Attendee[] {
  return props(c, 'attendee').map((p) => ({
    email: address(values(p)[0]),
    name: param(p, 'cn'),
    partstat: param(p, 'partstat')?.toUpperCase() ?? null,
    role: param(p, 'role')?.toUpperCase() ?? null,
  }));
}

function duration(c: JComp, start: TimeValue, startUtc: number, zone: Zone, resolve: ZoneResolver): DurationSpec {
  const dtend = prop(c, 'dtend');
  const dur = prop(c, 'duration');
  if (dtend && dur) throw invalid('VEVENT has both DTEND and DURATION');
  if (dtend) {
    const end = readTime(dtend, 'DTEND', resolve);
    if ((end.value.kind === 'date') !== (start.value.kind === 'date')) throw invalid('DTEND must have the same value type (DATE or DATE-TIME) as DTSTART');
    const ms = instantOf(end, zone) - startUtc;
    if (ms < 0) throw invalid('DTEND is before DTSTART');
    // DTEND gives every instance the same exact duration (RFC 5545 §3.8.5.3).
    return { kind: 'exact', ms };
  }
  if (dur) {
    const d = parseDuration(String(values(dur)[0] ?? ''), 'DURATION');
    if (d.days < 0 || d.ms < 0) throw invalid('DURATION is negative');
    return { kind: 'nominal', ...d };
  }
  return { kind: 'exact', ms: start.value.kind === 'date' ? DAY : 0 };
}

function rule(c: JComp, start: TimeValue): Rule | null {
  const rrules = props(c, 'rrule');
  if (rrules.length === 0) return null;
  if (rrules.length > 1) throw invalid('VEVENT has more than one RRULE');
  const data = values(rrules[0]!)[0];
  if (typeof data !== 'object' || data === null) throw invalid('RRULE is not a valid recurrence rule');
  const r = ruleFromJcal(data as Record<string, unknown>);
  checkBounded(r);
  if (start.value.kind === 'date' && freqRank(r.freq) < freqRank('DAILY')) throw invalid(`RRULE FREQ=${r.freq} needs a DATE-TIME DTSTART`);
  return r;
}

function dateList(c: JComp, name: 'rdate' | 'exdate', series: SeriesContext, resolve: ZoneResolver): Array<{ rid: number | { day: number }; end: number | null }> {
  const out: Array<{ rid: number | { day: number }; end: number | null }> = [];
  for (const p of props(c, name)) {
    const tzid = param(p, 'tzid');
    const zone = tzid === null ? null : resolve(tzid);
    for (const v of values(p)) {
      const [first, second] = Array.isArray(v) ? v.map(String) : [String(v), undefined];
      const value = parseDateValue(first!, name.toUpperCase());
      const rid = ridOf(value, value.kind === 'floating' ? zone : null, series.kind, series.zone);
      let end: number | null = null;
      if (second !== undefined && typeof rid === 'number') {
        // PERIOD: an explicit end or a duration (RFC 5545 §3.3.9).
        if (/^[+-]?P/.test(second)) {
          const d = parseDuration(second, `${name.toUpperCase()} period`);
          end = rid + d.days * DAY + d.ms;
        } else {
          const e = parseDateValue(second, `${name.toUpperCase()} period`);
          end = e.kind === 'floating' ? toUtc(zone ?? series.zone, e.local) : e.local;
        }
        if (end < rid) throw invalid(`${name.toUpperCase()} period ends before it starts`);
      }
      out.push({ rid, end });
    }
  }
  return out;
}

/**
 * A RECURRENCE-ID (or an override's DTSTART) read in its series' terms,
 * however it is written — in another zone than DTSTART, in UTC, or as a DATE
 * on a timed series (the instance at the series' time of day is meant):
 * its numeric id and canonical text (ParsedEvent.recurrenceId). Without a
 * series (an orphan override), a zoned value is read as UTC.
 */
export function readRecurrenceId(p: JProp, what: string, resolve: ZoneResolver, series: SeriesContext | null): { rid: number; text: string } {
  const r = readTime(p, what, resolve);
  const ctx: SeriesContext = series ?? { kind: kindOf(r) === 'zoned' ? 'utc' : kindOf(r), zone: UTC_ZONE, timeOfDay: 0 };
  const n = ridOf(r.value, r.zone, ctx.kind, ctx.zone);
  const rid = typeof n === 'number' ? n : toUtc(ctx.zone, n.day * DAY + ctx.timeOfDay);
  return { rid, text: canonicalRid(rid, ctx.kind === 'zoned' ? 'utc' : ctx.kind) };
}

/** The context a master VEVENT gives its overrides: the kind, zone and time of day of its DTSTART. */
export function seriesContextOf(master: JComp, resolve: ZoneResolver): SeriesContext | null {
  const dtstart = prop(master, 'dtstart');
  if (!dtstart) return null;
  const start = readTime(dtstart, 'DTSTART', resolve);
  return { kind: kindOf(start), zone: start.zone ?? UTC_ZONE, timeOfDay: start.value.local - Math.floor(start.value.local / DAY) * DAY };
}

/** Reads one VEVENT. `series` is the master's context for an override (null for the master or an orphan override). */
export function readEvent(c: JComp, resolve: ZoneResolver, series: SeriesContext | null): EventModel {
  const dtstart = prop(c, 'dtstart');
  if (!dtstart) throw invalid('VEVENT has no DTSTART');
  const start = readTime(dtstart, 'DTSTART', resolve);
  const kind = kindOf(start);
  const zone = start.zone ?? UTC_ZONE;
  const startUtc = instantOf(start, zone);
  const dur = duration(c, start, startUtc, zone, resolve);
  const endUtc = endOf(dur, zone, startUtc, start.value.local);
  const allDay = kind === 'date';

  const ridProp = prop(c, 'recurrence-id');
  let rid: number | null = null;
  let ridText: string | null = null;
  if (ridProp) ({ rid, text: ridText } = readRecurrenceId(ridProp, 'RECURRENCE-ID', resolve, series));

  const own: SeriesContext = { kind, zone, timeOfDay: start.value.local - Math.floor(start.value.local / DAY) * DAY };
  const exdates = new Set<number>();
  const exdateDays = new Set<number>();
  for (const x of ridProp ? [] : dateList(c, 'exdate', own, resolve)) {
    if (typeof x.rid === 'number') exdates.add(x.rid);
    else exdateDays.add(x.rid.day);
  }
  const rdates: RDateSpec[] = [];
  for (const x of ridProp ? [] : dateList(c, 'rdate', own, resolve)) {
    if (typeof x.rid === 'number') rdates.push({ rid: x.rid, end: x.end });
    else throw invalid('RDATE is a DATE but DTSTART is a DATE-TIME');
  }
  rdates.sort((a, b) => a.rid - b.rid);

  const status = statusOf(text(c, 'status'));
  const transparent = text(c, 'transp')?.trim().toUpperCase() === 'TRANSPARENT';
  const sequence = Number(text(c, 'sequence') ?? 0);
  const organizer = prop(c, 'organizer');
  const event: ParsedEvent = {
    recurrenceId: ridText,
    summary: text(c, 'summary'),
    location: text(c, 'location'),
    description: text(c, 'description'),
    start: new Date(startUtc),
    end: new Date(endUtc),
    startLocal: allDay ? formatIsoLocal(start.value.local, true) : isoInZone(zone, startUtc, false),
    endLocal: isoInZone(zone, endUtc, allDay),
    tzid: kind === 'zoned' ? zone.name : null,
    tzidOriginal: start.tzid,
    allDay,
    floating: kind === 'floating' || kind === 'date',
    classification: classification(text(c, 'class')),
    status,
    transparent,
    busyType: busyTypeOf(status, transparent, text(c, 'x-microsoft-cdo-busystatus')),
    sequence: Number.isInteger(sequence) && sequence >= 0 ? sequence : 0,
    organizer: organizer ? address(values(organizer)[0]) : null,
    attendees: attendees(c),
    thisAndFuture: ridProp ? param(ridProp, 'range')?.toUpperCase() === 'THISANDFUTURE' : false,
  };
  return {
    event,
    kind,
    zone,
    startLocal: start.value.local,
    startUtc,
    duration: dur,
    // RRULE/RDATE/EXDATE on an override would re-define the series from inside one instance; RFC 5545 gives them no meaning there.
    rule: ridProp ? null : rule(c, start),
    rdates,
    exdates,
    exdateDays,
    rid,
  };
}
