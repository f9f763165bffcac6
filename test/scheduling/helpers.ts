import { expect } from 'vitest';
import { DmciRequestError, type DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';

/** iCalendar meetings for the scheduling tests. */

let serial = 0;

export interface MeetingOptions {
  uid?: string;
  organizer: string;
  attendees: Array<string | { email: string; partstat?: string; agent?: string; cutype?: string; raw?: string }>;
  start?: string;
  minutes?: number;
  rrule?: string;
  sequence?: number;
  summary?: string;
  location?: string;
  description?: string;
  extra?: string[];
  /** Further VEVENTs (overrides), each a list of lines without BEGIN/END. */
  overrides?: string[][];
}

export const icalUtc = (d: Date): string => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

export function meeting(o: MeetingOptions): string {
  const uid = o.uid ?? `m-${Date.now()}-${serial++}@sched.test`;
  const start = new Date(o.start ?? '2026-12-01T10:00:00Z');
  const end = new Date(start.getTime() + (o.minutes ?? 60) * 60_000);
  const attendeeLines = o.attendees.map((a) => {
    const x = typeof a === 'string' ? { email: a } : a;
    if ('raw' in x && x.raw) return x.raw;
    const params = [`PARTSTAT=${x.partstat ?? 'NEEDS-ACTION'}`, ...(x.agent ? [`SCHEDULE-AGENT=${x.agent}`] : []), ...(x.cutype ? [`CUTYPE=${x.cutype}`] : [])];
    return `ATTENDEE;${params.join(';')}:mailto:${x.email}`;
  });
  const common = [
    `UID:${uid}`,
    'DTSTAMP:20261001T000000Z',
    `ORGANIZER:mailto:${o.organizer}`,
    `SUMMARY:${o.summary ?? 'Planning'}`,
    ...(o.location ? [`LOCATION:${o.location}`] : []),
    ...(o.description ? [`DESCRIPTION:${o.description}`] : []),
    `SEQUENCE:${o.sequence ?? 0}`,
  ];
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci tests//EN',
    'BEGIN:VEVENT',
    ...common,
    `DTSTART:${icalUtc(start)}`,
    `DTEND:${icalUtc(end)}`,
    ...(o.rrule ? [`RRULE:${o.rrule}`] : []),
    ...attendeeLines,
    ...(o.extra ?? []),
    'END:VEVENT',
    ...(o.overrides ?? []).flatMap((lines) => ['BEGIN:VEVENT', ...lines, 'END:VEVENT']),
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** The PARTSTAT of `email` on the first ATTENDEE line naming it (unfolded), or undefined. */
export function partstatOf(ics: string, email: string, component = 0): string | undefined {
  const unfolded = ics.replace(/\r\n[ \t]/g, '');
  const events = unfolded.split('BEGIN:VEVENT').slice(1);
  const line = events[component]?.split('\r\n').find((l) => l.startsWith('ATTENDEE') && l.toLowerCase().endsWith(`mailto:${email}`));
  return line ? /PARTSTAT=([A-Z-]+)/.exec(line)?.[1] : undefined;
}

export function sequenceOf(ics: string): number {
  return Number(/SEQUENCE:(\d+)/.exec(ics)?.[1] ?? 0);
}

export async function defaultCalendar(client: DmciClient): Promise<string> {
  return (await client.request('Calendar/get', {})).list.find((c) => c.isDefault)!.id;
}

/** Every live event of a calendar (full sync). */
export async function eventsOf(client: DmciClient, calendarId: string) {
  const out = [];
  let page = await client.request('CalendarEvent/changes', { calendarId });
  for (;;) {
    out.push(...page.created, ...page.updated);
    if (!page.hasMoreChanges) return out;
    page = await client.request('CalendarEvent/changes', { calendarId, sinceState: page.newState });
  }
}

export async function inboxOf(client: DmciClient) {
  return (await client.request('Inbox/get', {})).list;
}

/** Creates a meeting with one room as its only attendee; the room's answer is `outcome` (the create must succeed). */
export async function bookRoom(client: DmciClient, calendarId: string, organizer: string, room: string, options: Omit<MeetingOptions, 'organizer' | 'attendees'> = {}) {
  const uid = options.uid ?? `room-${Date.now()}-${serial++}@sched.test`;
  const result = await client.request('CalendarEvent/set', { calendarId, create: { m: { ics: meeting({ ...options, uid, organizer, attendees: [{ email: room, cutype: 'ROOM' }] }) } } });
  expect(result.notCreated).toEqual({});
  const id = result.created.m!.id;
  return { id, uid, outcome: result.scheduled![id]![room]!, result };
}

/** Runs a request as a connector does under load: refused UNAVAILABLE (the server saturated), it waits retryAfterMs and asks again. */
export async function whenAvailable<T>(call: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof DmciRequestError) || error.code !== 'UNAVAILABLE') throw error;
      await new Promise((resolve) => setTimeout(resolve, error.retryAfterMs ?? 1000));
    }
  }
}

/** A room's live copy of a meeting (its id and text), read from the database: rooms have no session to read it with. */
export function roomCopyOf(db: Db, room: string, uid: string) {
  return db
    .selectFrom('calendar_events as ev')
    .innerJoin('calendars as c', 'c.id', 'ev.calendar_id')
    .innerJoin('directory_entries as e', 'e.id', 'c.resource_id')
    .select(['ev.id', 'ev.ics'])
    .where('e.email', '=', room)
    .where('ev.uid', '=', uid)
    .where('ev.deleted', '=', false)
    .executeTakeFirstOrThrow();
}

/** Who books in `meetLate`: a domain admin, the weekly series' organizer (A) and the yearly's (D), and their calendars. */
export interface LateCast {
  admin: DmciClient;
  alice: DmciClient;
  dave: DmciClient;
  aliceCal: string;
  daveCal: string;
  A: string;
  D: string;
}

/**
 * Two series without an end meeting only beyond what was compared when the later was booked (a 30-day window: about
 * two years, the index): weekly Tuesdays (A), then yearly on December 4th (D, A invited), a Tuesday first in 2029 —
 * both answered `answer`. Then the window grows and a one-off that afternoon reaches 2029: both series get rows up
 * to it, the first first, and the yearly one's 2029 instance (20291204T100000Z) is skipped.
 */
export async function meetLate(cast: LateCast, room: string, grownWindowDays = 3650, answer: 'ACCEPTED' | 'TENTATIVE' = 'ACCEPTED') {
  const { admin, alice, dave, aliceCal, daveCal, A, D } = cast;
  await admin.request('Admin/resourceSetPolicy', { email: room, policy: { bookingWindowDays: 30 } });
  const weekly = await bookRoom(alice, aliceCal, A, room, { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' });
  const uid = `yearly-${room}`;
  const ics = meeting({ uid, organizer: D, attendees: [A, { email: room, cutype: 'ROOM' }], start: '2026-12-04T10:00:00Z', rrule: 'FREQ=YEARLY' });
  const created = await dave.request('CalendarEvent/set', { calendarId: daveCal, create: { y: { ics } } });
  const id = created.created.y!.id;
  const yearly = { id, uid, outcome: created.scheduled![id]![room]! };
  expect([weekly.outcome.partstat, yearly.outcome.partstat]).toEqual([answer, answer]);
  await admin.request('Admin/resourceSetPolicy', { email: room, policy: { bookingWindowDays: grownWindowDays } });
  expect((await bookRoom(dave, daveCal, D, room, { start: '2029-12-04T14:00:00Z' })).outcome.partstat).toBe(answer);
  return { weekly, yearly };
}
