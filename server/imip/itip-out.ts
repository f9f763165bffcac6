import { param, prop, props, subs, values, type JComp, type JProp } from '../calendar/ical/jcal.ts';
import { addressOf, parseRoot, ridKeys, stringify } from '../scheduling/itip.ts';
import type { ImipMethod } from './outbox.table.ts';

/**
 * The iTIP objects dmci mails (RFC 5546 §3.2, RFC 6047), each cut from the
 * stored text to what its recipient may see:
 *
 * - no VALARM (alarms are the sender's own), no X-DMCI-* property or
 *   parameter, no SCHEDULE-AGENT / SCHEDULE-STATUS / SCHEDULE-FORCE-SEND
 *   parameters (RFC 6638 §3.2: server-side scheduling state, never sent);
 * - a REQUEST carries the attendee list (iTIP requires it: an attendee of a
 *   meeting sees who else is invited) and nothing else of other people;
 * - a REPLY carries only the answering attendee and the identifying fields;
 * - a CANCEL naming one removed attendee carries only that attendee.
 *
 * Works on jCal (values as written), like scheduling/itip.ts.
 */

const SCHEDULING_PARAMS = ['schedule-agent', 'schedule-status', 'schedule-force-send'];
/** What a REPLY / DECLINECOUNTER keeps of a component besides the attendee (RFC 5546 §3.2.3 and §3.2.8 tables). */
const IDENTIFYING = new Set(['uid', 'dtstamp', 'sequence', 'organizer', 'recurrence-id', 'dtstart', 'dtend', 'duration', 'summary']);

const isInternal = (name: string) => name.toLowerCase().startsWith('x-dmci');

function clean(c: JComp): void {
  c[1] = c[1].filter((p) => !isInternal(p[0]));
  for (const p of c[1]) {
    for (const key of Object.keys(p[1])) if (SCHEDULING_PARAMS.includes(key) || isInternal(key)) delete p[1][key];
  }
  c[2] = c[2].filter((s) => s[0].toLowerCase() !== 'valarm' && !isInternal(s[0]));
  for (const s of c[2]) clean(s);
}

function setProp(c: JComp, name: string, type: string, value: unknown): void {
  c[1] = c[1].filter((p) => p[0] !== name);
  c[1].push([name, {}, type, value] as JProp);
}

const jcalUtc = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const vevents = (root: JComp) => subs(root, 'vevent');
const isMaster = (c: JComp) => prop(c, 'recurrence-id') === undefined;
const attendeeIs = (p: JProp, address: string) => addressOf(values(p)[0]) === address;

/** The VCALENDAR with METHOD, a fresh DTSTAMP on every VEVENT, and only what anyone outside may see. */
function envelope(ics: string, method: ImipMethod, now: Date): JComp {
  const root = parseRoot(ics);
  clean(root);
  root[1] = root[1].filter((p) => p[0] !== 'method');
  root[1].splice(root[1].findIndex((p) => p[0] === 'version') + 1, 0, ['method', {}, 'text', method]);
  for (const c of vevents(root)) setProp(c, 'dtstamp', 'date-time', jcalUtc(now));
  return root;
}

/** Drops the VTIMEZONEs no remaining property names (after components were removed). */
function dropUnusedZones(root: JComp): void {
  const used = new Set<string>();
  for (const c of vevents(root)) for (const p of c[1]) {
    const tzid = param(p, 'tzid');
    if (tzid) used.add(tzid);
  }
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vtimezone' || used.has(String(values(prop(s, 'tzid')!)[0])));
}

const isOn = (c: JComp, address: string) => props(c, 'attendee').some((p) => attendeeIs(p, address));

/**
 * The object cut to the components one attendee is invited to (RFC 6638
 * §3.2.1: each attendee's scheduling message has the components they are on).
 * On the series: the series, with the occurrences they are not on excluded
 * (EXDATE, the override dropped); not on it: only their occurrences.
 */
function forAttendee(root: JComp, address: string): void {
  const events = vevents(root);
  const master = events.find(isMaster);
  const kept = new Set(events.filter((c) => isOn(c, address)));
  if (master && kept.has(master)) {
    for (const o of events.filter((c) => !isMaster(c) && !kept.has(c))) {
      const rid = prop(o, 'recurrence-id')!;
      master[1].push(['exdate', { ...(param(rid, 'tzid') ? { tzid: param(rid, 'tzid') } : {}) }, rid[2], ...values(rid)] as JProp);
    }
  }
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vevent' || kept.has(s));
  dropUnusedZones(root);
}

/** The occurrences (RECURRENCE-ID keys as scheduling/itip.ts writes them) an attendee is invited to alone: none when on the series. */
export function occurrencesOf(ics: string, address: string): Set<string> {
  const events = vevents(parseRoot(ics));
  const master = events.find(isMaster);
  if (master && isOn(master, address)) return new Set();
  return new Set(events.filter((c) => !isMaster(c) && isOn(c, address)).map(ridKey));
}

const ridKey = (c: JComp) => {
  const p = prop(c, 'recurrence-id');
  return p ? `${param(p, 'tzid') ?? ''}|${String(values(p)[0])}` : '';
};

/**
 * REQUEST to an attendee outside the server: the organizer's scheduled text as
 * every attendee sees it, cut to what `attendee` is invited to (forAttendee).
 */
export function requestMessage(ics: string, now: Date, attendee?: string): string {
  const root = envelope(ics, 'REQUEST', now);
  if (attendee !== undefined) forAttendee(root, attendee);
  return stringify(root);
}

/**
 * CANCEL (RFC 5546 §3.2.5): the whole meeting (`only` null: every attendee
 * stays listed) or one attendee's part in it (`only`: that attendee alone).
 * Only the master is sent: a CANCEL without RECURRENCE-ID ends every
 * occurrence — unless `only` was invited to some occurrences alone (not the
 * series): then those occurrences, or the ones in `rids` (keys as in
 * `occurrencesOf`) when only some of theirs are cancelled.
 */
export function cancelMessage(ics: string, sequence: number, only: string | null, now: Date, rids?: ReadonlySet<string>): string {
  const root = envelope(ics, 'CANCEL', now);
  const events = vevents(root);
  const master = events.find(isMaster) ?? events[0]!;
  const theirs = only === null ? new Set<string>() : occurrencesOf(ics, only);
  const cancelled = theirs.size === 0 ? [master] : events.filter((c) => !isMaster(c) && (rids ?? theirs).has(ridKey(c)));
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vevent' || cancelled.includes(s));
  for (const c of cancelled) {
    setProp(c, 'sequence', 'integer', sequence);
    setProp(c, 'status', 'text', 'CANCELLED');
    if (only !== null) c[1] = c[1].filter((p) => p[0] !== 'attendee' || attendeeIs(p, only));
  }
  dropUnusedZones(root);
  return stringify(root);
}

/**
 * REPLY (RFC 5546 §3.2.3) from one attendee: each component they answered
 * (`rids`: '' the master, else the RECURRENCE-ID key of scheduling/itip.ts),
 * with only their ATTENDEE line and the identifying fields.
 */
export function replyMessage(ics: string, attendee: string, rids: ReadonlySet<string>, now: Date): string {
  const root = envelope(ics, 'REPLY', now);
  const keys = ridKeys(root);
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vevent' || rids.has(keys.ridOf(s)));
  for (const c of vevents(root)) c[1] = c[1].filter((p) => IDENTIFYING.has(p[0]) || (p[0] === 'attendee' && attendeeIs(p, attendee)));
  dropUnusedZones(root);
  return stringify(root);
}

/**
 * COUNTER (RFC 5546 §3.2.7) from one attendee: the master at the proposed
 * time (UTC), only the proposing attendee's line, the comment.
 */
export function counterMessage(ics: string, attendee: string, proposal: { start: Date; end: Date; comment: string | null }, now: Date): string {
  const root = envelope(ics, 'COUNTER', now);
  const events = vevents(root);
  const master = events.find(isMaster) ?? events[0]!;
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vevent' || s === master);
  master[1] = master[1].filter((p) => p[0] !== 'duration' && (p[0] !== 'attendee' || attendeeIs(p, attendee)));
  setProp(master, 'dtstart', 'date-time', jcalUtc(proposal.start));
  setProp(master, 'dtend', 'date-time', jcalUtc(proposal.end));
  if (proposal.comment) master[1].push(['comment', {}, 'text', proposal.comment]);
  dropUnusedZones(root);
  return stringify(root);
}

/** DECLINECOUNTER (RFC 5546 §3.2.8) to the attendee whose proposal the organizer declined. */
export function declineCounterMessage(ics: string, attendee: string, comment: string | null, now: Date): string {
  const root = envelope(ics, 'DECLINECOUNTER', now);
  const events = vevents(root);
  const master = events.find(isMaster) ?? events[0]!;
  root[2] = root[2].filter((s) => s[0].toLowerCase() !== 'vevent' || s === master);
  master[1] = master[1].filter((p) => IDENTIFYING.has(p[0]) || (p[0] === 'attendee' && attendeeIs(p, attendee)));
  if (comment) master[1].push(['comment', {}, 'text', comment]);
  dropUnusedZones(root);
  return stringify(root);
}

/** The ATTENDEE lines of `address` in a text (every component), for tests and checks. */
export function attendeeLines(ics: string, address: string): JProp[] {
  return vevents(parseRoot(ics)).flatMap((c) => props(c, 'attendee').filter((p) => attendeeIs(p, address)));
}
