import ICAL from 'ical.js';
import { invalid, tooBig } from './errors.ts';
import { readEvent, type SeriesContext, type ZoneResolver } from './event.ts';
import { seriesBounds } from './expand.ts';
import { type JComp, compName, prop, subs, text } from './jcal.ts';
import { DAY } from './local-time.ts';
import { endOf, type EventModel, type ObjectModel } from './model.ts';
import { normalizedText } from './normalize.ts';
import { ianaNameFor, ianaZone, type Zone } from './timezones.ts';
import type { IcalLimits, ParsedCalendarObject } from './types.ts';
import { zoneFromVtimezone } from './vtimezone-read.ts';

/**
 * iCalendar text → validated object + expansion model. Lexing is ical.js's
 * (line unfolding, parameters, value escaping); everything after that is
 * ours. Any problem rejects the whole object: nothing partial is returned.
 */

const MIN_INSTANT = Date.parse('0001-01-01T00:00:00Z');
const MAX_INSTANT = Date.parse('9999-12-31T23:59:59Z');

const UNSUPPORTED = new Set(['vtodo', 'vjournal', 'vfreebusy']);

function lex(text: string): JComp {
  const first = /^\s*([^\r\n]*)/.exec(text)?.[1] ?? '';
  if (first !== '' && !/^BEGIN:/i.test(first)) throw invalid('could not parse iCalendar: the text does not start with BEGIN:VCALENDAR');
  let parsed: unknown;
  try {
    parsed = ICAL.parse(text);
  } catch (e) {
    // ical.js's own errors (ParserError, plain Error for bad RRULE values) name the offending text;
    // a TypeError from deep inside it would only leak internals.
    const own = e instanceof Error && (e.name === 'ParserError' || e.constructor === Error);
    throw invalid(`could not parse iCalendar${own ? `: ${e.message}` : ''}`);
  }
  if (!Array.isArray(parsed) || parsed.length === 0) throw invalid('could not parse iCalendar: no component found');
  if (Array.isArray(parsed[0])) throw invalid('expected one VCALENDAR, found several top-level components');
  const root = parsed as JComp;
  if (compName(root) !== 'vcalendar') throw invalid(`expected a VCALENDAR, found ${root[0].toUpperCase()}`);
  return root;
}

/**
 * VTIMEZONEs repeat across objects (Outlook sends the same one with every
 * event), and a built zone caches its onsets: share built zones by content.
 */
const vtimezoneCache = new Map<string, Zone>();

function vtimezoneZone(vtz: JComp): Zone {
  const key = JSON.stringify(vtz);
  let zone = vtimezoneCache.get(key);
  if (!zone) {
    if (vtimezoneCache.size >= 500) vtimezoneCache.clear();
    zone = zoneFromVtimezone(vtz);
    vtimezoneCache.set(key, zone);
  }
  return zone;
}

export function zoneResolver(vtimezones: Map<string, JComp>, used: Set<string>): ZoneResolver {
  const built = new Map<string, Zone>();
  return (tzid) => {
    let zone = built.get(tzid);
    if (!zone) {
      const vtz = vtimezones.get(tzid);
      // An embedded VTIMEZONE wins over any name the runtime knows (RFC 5545 §3.2.19).
      if (vtz) {
        zone = vtimezoneZone(vtz);
        used.add(tzid);
      } else {
        const iana = ianaNameFor(tzid);
        zone = iana ? (ianaZone(iana) ?? undefined) : undefined;
      }
      if (!zone) throw invalid(`unknown time zone "${tzid}": neither an embedded VTIMEZONE, an IANA name nor a Windows zone name`);
      built.set(tzid, zone);
    }
    return zone;
  };
}

export function parseInternal(input: string, limits: IcalLimits): { obj: ParsedCalendarObject; model: ObjectModel } {
  if (typeof input !== 'string') throw invalid('iCalendar text must be a string');
  const bytes = Buffer.byteLength(input, 'utf8');
  if (bytes > limits.maxBytes) throw tooBig(`iCalendar object is ${bytes} bytes, over the limit of ${limits.maxBytes}`);
  // RFC 5545 §3.1 allows no control characters but HTAB in values; NUL cannot even be stored.
  if (input.includes('\0')) throw invalid('iCalendar text must not contain NUL (U+0000) characters');
  // A UTF-8 byte order mark is common in files exported on Windows; ical.js rejects it.
  const root = lex(input.replace(/^\uFEFF/, ''));

  const vtimezones = new Map<string, JComp>();
  for (const tz of subs(root, 'vtimezone')) {
    const tzid = text(tz, 'tzid');
    if (!tzid) throw invalid('VTIMEZONE has no TZID');
    vtimezones.set(tzid, tz);
  }
  for (const c of root[2]) if (UNSUPPORTED.has(compName(c))) throw invalid(`${c[0].toUpperCase()} is not supported here: only VEVENT objects`);
  const vevents = subs(root, 'vevent');
  if (vevents.length === 0) throw invalid('VCALENDAR holds no VEVENT');

  const uids = new Set(vevents.map((v) => text(v, 'uid')?.trim() ?? ''));
  if (uids.has('')) throw invalid('VEVENT has no UID');
  if (uids.size > 1) throw invalid(`one object must hold one UID, found ${uids.size}: ${[...uids].slice(0, 3).join(', ')}`);
  const uid = [...uids][0]!;

  const masters = vevents.filter((v) => !prop(v, 'recurrence-id'));
  const overrideComps = vevents.filter((v) => prop(v, 'recurrence-id'));
  if (masters.length > 1) throw invalid('more than one VEVENT without RECURRENCE-ID');
  if (overrideComps.length > limits.maxOverrides) throw tooBig(`${overrideComps.length} overrides, over the limit of ${limits.maxOverrides}`);

  const used = new Set<string>();
  const resolve = zoneResolver(vtimezones, used);
  const master = masters[0] ? readEvent(masters[0], resolve, null) : null;
  const series: SeriesContext | null = master
    ? { kind: master.kind, zone: master.zone, timeOfDay: master.startLocal - Math.floor(master.startLocal / DAY) * DAY }
    : null;
  const overrides: EventModel[] = overrideComps.map((c) => readEvent(c, resolve, series));
  const seen = new Set<string>();
  for (const o of overrides) {
    if (seen.has(o.event.recurrenceId!)) throw invalid(`two overrides for RECURRENCE-ID ${o.event.recurrenceId}`);
    seen.add(o.event.recurrenceId!);
  }
  overrides.sort((a, b) => a.rid! - b.rid!);

  const model: ObjectModel = { master, overrides };
  const { firstStart, lastEnd } = seriesBounds(model);
  // Every instant must be storable (PostgreSQL and ISO 8601 text both stop at year 9999): an
  // end past it used to fail the whole CalendarEvent/set with INTERNAL.
  const firstEnds = [master, ...overrides].flatMap((m) => (m ? [endOf(m.duration, m.zone, m.startUtc, m.startLocal)] : []));
  for (const instant of [firstStart, lastEnd ?? firstStart, ...firstEnds]) {
    if (!(instant >= MIN_INSTANT && instant <= MAX_INSTANT)) throw invalid('the event reaches outside the supported years 0001–9999');
  }
  const obj: ParsedCalendarObject = {
    uid,
    text: normalizedText(root[1], [...used].map((t) => vtimezones.get(t)!), [...masters, ...overrideComps]),
    master: master?.event ?? null,
    overrides: overrides.map((o) => o.event),
    recurring: !!(master && (master.rule || master.rdates.length > 0)) || overrides.length > 0,
    firstStart: new Date(firstStart),
    lastEnd: lastEnd === null ? null : new Date(lastEnd),
  };
  return { obj, model };
}
