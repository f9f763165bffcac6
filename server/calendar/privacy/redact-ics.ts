import ICAL from 'ical.js';
import { levelOf, lowerLevel, type Lens, type ViewLevel } from './policy.ts';

/**
 * Renders a stored VCALENDAR through a lens, one VEVENT at a time: each
 * component is shown at the level its own CLASS gives (an override can be
 * more private than its master, or less). A redacted component keeps only
 * the properties its level names — no other property, no parameter but
 * those that say what a value means (TZID, VALUE, RANGE), no nested
 * component (VALARM). A component at `full` is kept as stored. Unless every
 * component is `full`, the UID (Outlook's global object id can tell who
 * created a meeting and when) is replaced by an opaque stand-in everywhere.
 * VTIMEZONEs keep only what defines the zone.
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
const KEPT_PARAMETERS = new Set(['tzid', 'value', 'range']);
const ZONE_PROPERTIES = new Set(['tzid']);
const ZONE_RULE_PROPERTIES = new Set(['dtstart', 'tzoffsetfrom', 'tzoffsetto', 'rrule', 'rdate', 'tzname']);

type Property = [string, Record<string, unknown>, string, ...unknown[]];
type Component = [string, Property[], Component[]];

export function opaqueUid(eventId: string): string {
  return `redacted-${eventId}@dmci.invalid`;
}

function keepOnly(props: readonly Property[], names: ReadonlySet<string>): Property[] {
  return props
    .filter(([name]) => names.has(name))
    .map(([name, params, type, ...values]) => [name, Object.fromEntries(Object.entries(params).filter(([p]) => KEPT_PARAMETERS.has(p))), type, ...values] as Property);
}

function classOf(vevent: Component): string {
  const prop = vevent[1].find(([name]) => name === 'class');
  return typeof prop?.[3] === 'string' ? prop[3].toUpperCase() : 'PUBLIC';
}

function renderComponent(vevent: Component, level: ViewLevel, uid: string | null): Component {
  if (level === 'full') {
    return uid === null ? vevent : [vevent[0], vevent[1].map((p) => (p[0] === 'uid' ? (['uid', {}, 'text', uid] as Property) : p)), vevent[2]];
  }
  const props = keepOnly(vevent[1], level === 'details' ? DETAIL_PROPERTIES : TIME_PROPERTIES);
  props.push(['uid', {}, 'text', uid!]);
  return ['vevent', props, []];
}

/**
 * The object through the lens: its text, the lowest level of its components
 * (`view`: a client may write back only what it saw in full) and the UID the
 * viewer gets. Null when the viewer sees none of it.
 */
export function redactIcs(ics: string, eventId: string, lens: Lens): { ics: string; view: ViewLevel; uid: string | null } | null {
  const root = ICAL.parse(ics) as unknown as Component;
  const vevents = root[2].filter((c) => c[0] === 'vevent');
  const levels = vevents.map((v) => levelOf(lens, classOf(v)));
  const view = levels.reduce<ViewLevel>((a, b) => lowerLevel(a, b), 'full');
  if (levels.every((l) => l === 'none')) return null;
  if (view === 'full') return { ics, view, uid: null };
  const uid = opaqueUid(eventId);
  const components: Component[] = root[2]
    .filter((c) => c[0] === 'vtimezone')
    .map((zone) => ['vtimezone', keepOnly(zone[1], ZONE_PROPERTIES), zone[2].map((rule) => [rule[0], keepOnly(rule[1], ZONE_RULE_PROPERTIES), []] as Component)]);
  vevents.forEach((vevent, i) => {
    // A component the viewer may not see at all leaves no trace (its instances show nowhere else either).
    if (levels[i] !== 'none') components.push(renderComponent(vevent, levels[i]!, uid));
  });
  const out: Component = ['vcalendar', [['version', {}, 'text', '2.0'], ['prodid', {}, 'text', '-//dmci//redacted//EN']], components];
  return { ics: ICAL.stringify(out as unknown as Parameters<typeof ICAL.stringify>[0]), view, uid };
}
