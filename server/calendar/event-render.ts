import ICAL from 'ical.js';
import type { CalendarEvent } from '../../protocol/index.ts';
import type { ViewLevel } from './calendar-access.ts';
import type { CalendarEventRow } from './event.table.ts';

/**
 * Renders a stored event for a viewer at the level calendar-access decided.
 *
 * Redacted views are still VCALENDARs, so a connector stores them like any
 * event (Outlook shows a "Private appointment" block): every VEVENT keeps only
 * the properties that place it in time and say how busy it makes the owner;
 * `details` adds SUMMARY and LOCATION. Descriptions, attendees, organizer,
 * alarms, attachments, X- properties other than Outlook's busy status and
 * everything else are dropped, and the UID (Outlook's global object id can
 * reveal who created the meeting) is replaced by an opaque stand-in derived
 * from the event id.
 */

const TIME_PROPERTIES = new Set([
  'dtstart',
  'dtend',
  'duration',
  'rrule',
  'rdate',
  'exdate',
  'recurrence-id',
  'transp',
  'status',
  'class',
  'dtstamp',
  'sequence',
  'x-microsoft-cdo-busystatus',
  'x-microsoft-cdo-alldayevent',
]);
const DETAIL_PROPERTIES = new Set([...TIME_PROPERTIES, 'summary', 'location']);
/**
 * The only parameters a redacted property keeps: what is needed to read its
 * value in time (zone, value type, an override's range). Anything else —
 * X- parameters, ALTREP, LANGUAGE, CN — can carry what the policy hides.
 */
const KEPT_PARAMETERS = new Set(['tzid', 'value', 'range']);

function keptParameters(params: unknown): Record<string, unknown> {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params as Record<string, unknown>)) if (KEPT_PARAMETERS.has(name)) kept[name] = value;
  return kept;
}

export function opaqueUid(eventId: string): string {
  return `redacted-${eventId}@dmci.invalid`;
}

type JCal = [string, Array<[string, ...unknown[]]>, JCal[]];

export function redactIcs(ics: string, eventId: string, level: 'details' | 'time'): string {
  const keep = level === 'details' ? DETAIL_PROPERTIES : TIME_PROPERTIES;
  const root = ICAL.parse(ics) as unknown as JCal;
  const uid = opaqueUid(eventId);
  const components: JCal[] = [];
  for (const component of root[2]) {
    if (component[0] === 'vtimezone') {
      components.push(component);
    } else if (component[0] === 'vevent') {
      const props = component[1].filter(([name]) => keep.has(name)).map(([name, params, ...rest]) => [name, keptParameters(params), ...rest] as [string, ...unknown[]]);
      props.push(['uid', {}, 'text', uid]);
      // Nested components (VALARM) are dropped.
      components.push(['vevent', props, []]);
    }
  }
  const out: JCal = ['vcalendar', [['version', {}, 'text', '2.0'], ['prodid', {}, 'text', '-//dmci//redacted//EN']], components];
  return ICAL.stringify(out as unknown as Parameters<typeof ICAL.stringify>[0]);
}

/** Classifications from least to most restrictive; an object is as private as its most private component. */
const CLASS_RANK: Record<string, number> = { PUBLIC: 0, PRIVATE: 1, CONFIDENTIAL: 2 };
export function mostRestrictive(classes: readonly string[]): string {
  let result = 'PUBLIC';
  for (const c of classes) if ((CLASS_RANK[c] ?? 1) > (CLASS_RANK[result] ?? 0)) result = CLASS_RANK[c] === undefined ? 'PRIVATE' : c;
  return result;
}

/** A live row as the viewer may see it; `level` must not be 'none' (callers skip those). */
export function renderEvent(row: CalendarEventRow, level: Exclude<ViewLevel, 'none'>): CalendarEvent {
  const full = level === 'full';
  return {
    id: row.id,
    calendarId: row.calendar_id,
    uid: full ? row.uid : opaqueUid(row.id),
    version: row.version,
    view: level,
    ics: full ? row.ics! : redactIcs(row.ics!, row.id, level),
    recurring: row.recurring,
    firstStart: row.first_start!.toISOString(),
    lastEnd: row.last_end ? row.last_end.toISOString() : null,
  };
}
