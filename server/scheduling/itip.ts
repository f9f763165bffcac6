import ICAL from 'ical.js';
import { param, prop, props, subs, text, values, type JComp, type JProp } from '../calendar/ical/jcal.ts';
import { recurrenceKeyer, type RecurrenceKeyer } from '../calendar/ical/index.ts';

/**
 * The iTIP view of a stored VCALENDAR (RFC 5546, RFC 6638) and the edits the
 * scheduler makes to it: who organizes, who attends with which PARTSTAT and
 * SCHEDULE-AGENT, per component (master and overrides), and fingerprints of
 * what is significant (an attendee must answer again when it changes) and of
 * what only the organizer may change.
 *
 * Works on ical.js's jCal (values as written); the texts are already parsed
 * and validated by the calendar worker (ical-work/), each at most
 * IcalLimits.maxBytes, so one parse here costs well under a millisecond.
 */

/** An address as scheduling compares them: lower case, without mailto:. */
export function addressOf(value: unknown): string {
  return String(value ?? '')
    .replace(/^mailto:/i, '')
    .trim()
    .toLowerCase();
}

export type ScheduleAgent = 'SERVER' | 'CLIENT' | 'NONE';

export interface ItipAttendee {
  address: string;
  /** true when the value is a mailto: URI (the only kind dmci schedules). */
  mailto: boolean;
  partstat: string;
  agent: ScheduleAgent;
  cutype: string;
}

export interface ItipComponent {
  /** '' for the master; else the occurrence it is about, in canonical form (however RECURRENCE-ID is written: recurrence-keys.ts). */
  rid: string;
  attendees: Map<string, ItipAttendee>;
  /** Time, recurrence and location (RFC 5546 §2.1.4 "significant"; location by dmci's rule). */
  significant: string;
  /** What only the organizer may change: the significant part, SUMMARY, ORGANIZER, STATUS, the attendee list. */
  owned: string;
  /** DTSTART in the same canonical terms, to check that an attendee's per-occurrence copy does not move it. */
  start: string;
  /** What else decides whether a resource is booked: STATUS (cancelled) and TRANSP. */
  booking: string;
}

export interface ItipView {
  organizer: string | null;
  sequence: number;
  components: Map<string, ItipComponent>;
}

const SIGNIFICANT = ['dtstart', 'dtend', 'duration', 'rrule', 'rdate', 'exdate', 'location'];
const OWNED = ['summary', 'organizer', 'status'];

export function parseRoot(ics: string): JComp {
  return ICAL.parse(ics) as unknown as JComp;
}

export function stringify(root: JComp): string {
  const out = ICAL.stringify(root as unknown as Parameters<typeof ICAL.stringify>[0]);
  const crlf = /(^|[^\r])\n/.test(out) ? out.replace(/\r?\n/g, '\r\n') : out;
  return crlf.endsWith('\r\n') ? crlf : `${crlf}\r\n`;
}

const vevents = (root: JComp): JComp[] => subs(root, 'vevent');

/** The occurrence keys of a parsed VCALENDAR's components (recurrence-keys.ts): what every rid of this module is. */
export const ridKeys: (root: JComp) => RecurrenceKeyer = recurrenceKeyer;

function propKey(c: JComp, names: readonly string[]): string {
  return JSON.stringify(names.map((n) => props(c, n).map((p) => [p[1], ...values(p)])));
}

function readAttendee(p: JProp): ItipAttendee {
  const raw = String(values(p)[0] ?? '');
  const agent = (param(p, 'schedule-agent') ?? 'SERVER').toUpperCase();
  return {
    address: addressOf(raw),
    mailto: /^mailto:/i.test(raw.trim()),
    partstat: (param(p, 'partstat') ?? 'NEEDS-ACTION').toUpperCase(),
    agent: agent === 'CLIENT' || agent === 'NONE' ? agent : 'SERVER',
    cutype: (param(p, 'cutype') ?? 'INDIVIDUAL').toUpperCase(),
  };
}

function readComponent(c: JComp, keys: RecurrenceKeyer): ItipComponent {
  const attendees = new Map<string, ItipAttendee>();
  for (const p of props(c, 'attendee')) {
    const a = readAttendee(p);
    attendees.set(a.address, a);
  }
  const significant = propKey(c, SIGNIFICANT);
  const list = [...attendees.keys()].sort().join(',');
  let start: string | undefined;
  return {
    rid: keys.ridOf(c),
    attendees,
    significant,
    owned: `${significant}${propKey(c, OWNED)}${list}`,
    // On demand: it resolves DTSTART through the object's VTIMEZONEs, on the event loop, and only
    // an attendee's answer needs it (is an override organizer-owned?). Every view of every write
    // would otherwise pay for it (a CPU profile under `npm run bench -- hostile` showed ~20 ms).
    get start() {
      return (start ??= keys.startOf(c));
    },
    booking: propKey(c, ['status', 'transp']),
  };
}

/** The scheduling view of a VCALENDAR text. */
export function itipView(ics: string): ItipView {
  const components = new Map<string, ItipComponent>();
  let organizer: string | null = null;
  let sequence = 0;
  const root = parseRoot(ics);
  const keys = ridKeys(root);
  for (const c of vevents(root)) {
    const comp = readComponent(c, keys);
    components.set(comp.rid, comp);
    const org = prop(c, 'organizer');
    if (org && organizer === null) organizer = addressOf(values(org)[0]);
    const seq = Number(text(c, 'sequence') ?? 0);
    if (Number.isInteger(seq) && seq > sequence) sequence = seq;
  }
  return { organizer, sequence, components };
}

/** Every address invited anywhere in the object (master or an occurrence), with its first ATTENDEE line. */
export function allAttendees(view: ItipView): Map<string, ItipAttendee> {
  const out = new Map<string, ItipAttendee>();
  for (const c of view.components.values()) for (const [address, a] of c.attendees) if (!out.has(address)) out.set(address, a);
  return out;
}

/** Did time, recurrence or location change, or the set of occurrences the organizer overrode? */
export function isSignificantChange(before: ItipView, after: ItipView): boolean {
  if (before.components.size !== after.components.size) return true;
  for (const [rid, c] of after.components) {
    const old = before.components.get(rid);
    if (!old || old.significant !== c.significant) return true;
  }
  return false;
}

/**
 * A resource's answer the organizer's change leaves standing (RFC 5546: only a
 * significant change asks again): its PARTSTAT in the series and the
 * occurrences it declined alone, as `before` holds them — undefined when the
 * change is significant, touches what books the resource (STATUS, TRANSP),
 * or the resource has not answered.
 */
export function standingAnswer(before: ItipView, after: ItipView, address: string): { partstat: string; declined: string[] } | undefined {
  if (isSignificantChange(before, after)) return undefined;
  for (const [rid, c] of after.components) if (before.components.get(rid)?.booking !== c.booking) return undefined;
  const partstat = before.components.get('')?.attendees.get(address)?.partstat;
  if (!partstat || partstat === 'NEEDS-ACTION') return undefined;
  const declined = partstat === 'DECLINED' ? [] : occurrencesDeclinedBy(before, address);
  return { partstat, declined };
}

/** The occurrences (override rids) in which `address` is DECLINED while the series may say otherwise. */
export function occurrencesDeclinedBy(view: ItipView, address: string): string[] {
  return [...view.components].filter(([rid, c]) => rid !== '' && c.attendees.get(address)?.partstat === 'DECLINED').map(([rid]) => rid);
}

export interface ItipEdits {
  /** SEQUENCE written on every component. */
  sequence?: number;
  /** DTSTAMP written on every component (RFC 5546: when the message was made). */
  dtstamp?: Date;
  /** PARTSTAT per component rid ('' = master; '*' = every component) and address. */
  partstats?: Array<{ rid: string; address: string; partstat: string }>;
  /** Components to add (an attendee's per-occurrence answer the organizer's copy lacks), as jCal from another text. */
  addComponents?: JComp[];
  /** A delegate acted for `address` (RFC 5545 SENT-BY): on its ORGANIZER line, or on its ATTENDEE lines. */
  sentBy?: { address: string; by: string; on: 'organizer' | 'attendee' };
}

function setProp(c: JComp, name: string, type: string, value: unknown): void {
  const existing = prop(c, name);
  if (existing) existing.splice(3, existing.length - 3, value);
  else c[1].push([name, {}, type, value]);
}

/** A UTC DATE-TIME as jCal writes it ('2026-12-01T10:00:00Z'); ical.js's writer turns it into iCalendar form. */
function jcalUtc(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Applies the edits and returns the new text (CRLF, folded, as the calendar stores it). */
export function editItip(ics: string, edits: ItipEdits): string {
  const root = parseRoot(ics);
  if (edits.addComponents) root[2].push(...edits.addComponents);
  const keys = ridKeys(root);
  for (const c of vevents(root)) {
    if (edits.sequence !== undefined) setProp(c, 'sequence', 'integer', edits.sequence);
    if (edits.dtstamp) setProp(c, 'dtstamp', 'date-time', jcalUtc(edits.dtstamp));
    const rid = keys.ridOf(c);
    if (edits.sentBy) {
      const { address, by, on } = edits.sentBy;
      for (const p of props(c, on)) if (addressOf(values(p)[0]) === address) p[1]['sent-by'] = `mailto:${by}`;
    }
    for (const e of edits.partstats ?? []) {
      if (e.rid !== '*' && e.rid !== rid) continue;
      for (const p of props(c, 'attendee')) {
        if (addressOf(values(p)[0]) === e.address) {
          p[1].partstat = e.partstat;
          // The answer is in: RSVP (a request for one) no longer applies (RFC 5546 §3.2.3).
          if (e.partstat !== 'NEEDS-ACTION') delete p[1].rsvp;
        }
      }
    }
  }
  return stringify(root);
}

/** The component of `ics` for an occurrence (by its rid key), as jCal to add to another object. */
export function componentOf(ics: string, rid: string): JComp | undefined {
  const root = parseRoot(ics);
  const keys = ridKeys(root);
  return vevents(root).find((c) => keys.ridOf(c) === rid);
}
