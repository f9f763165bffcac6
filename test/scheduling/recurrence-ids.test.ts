import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf } from './helpers.ts';

/**
 * RECURRENCE-ID written otherwise than the master's DTSTART (issue 10): Outlook
 * writes it with the series' Windows TZID, Google in UTC, some clients as a
 * DATE. Answers, overrides and a room's per-occurrence declines must land on
 * the occurrence meant, whichever form each side wrote.
 */
let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let bob: DmciClient;
let dave: DmciClient;
let aliceCal: string;
let bobCal: string;
let daveCal: string;

const A = 'alice@rid.test';
const B = 'bob@rid.test';
const D = 'dave@rid.test';
const ROOM = 'harbour@rid.test';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@rid.test', undefined, 'domain_admin');
  for (const who of [A, B, D]) await server.createAccount(who);
  admin = await server.connect('admin@rid.test');
  alice = await server.connect(A);
  bob = await server.connect(B);
  dave = await server.connect(D);
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  daveCal = await defaultCalendar(dave);
  await admin.request('Admin/directoryCreate', { domain: 'rid.test', kind: 'resource', fields: { displayName: 'Harbour', email: ROOM, resourceType: 'room' } });
  await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { declineConflictingOccurrences: true } });
});
afterAll(async () => {
  await server.stop();
});

// Outlook's own VTIMEZONE (test/fixtures/samples/outlook-weekly-exception.ics): Mondays 09:30 New York = 14:30Z in winter.
const EST = [
  'BEGIN:VTIMEZONE',
  'TZID:Eastern Standard Time',
  'BEGIN:STANDARD',
  'DTSTART:16011104T020000',
  'RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11',
  'TZOFFSETFROM:-0400',
  'TZOFFSETTO:-0500',
  'END:STANDARD',
  'BEGIN:DAYLIGHT',
  'DTSTART:16010311T020000',
  'RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3',
  'TZOFFSETFROM:-0500',
  'TZOFFSETTO:-0400',
  'END:DAYLIGHT',
  'END:VTIMEZONE',
];
const tz = (what: string, local: string) => `${what};TZID="Eastern Standard Time":${local}`;

/** An Outlook series, Mondays from 2026-12-07, six times; the 14th moved to 11:00 by the organizer (its RECURRENCE-ID as Outlook writes it). */
function outlookSeries(uid: string, attendees: string[], overrides: string[][] = []): string {
  const common = [`UID:${uid}`, 'DTSTAMP:20261120T120000Z', `ORGANIZER:mailto:${A}`, 'SEQUENCE:0', 'SUMMARY:Team sync', ...attendees];
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN',
    ...EST,
    'BEGIN:VEVENT',
    ...common,
    tz('DTSTART', '20261207T093000'),
    tz('DTEND', '20261207T100000'),
    'RRULE:FREQ=WEEKLY;COUNT=6;BYDAY=MO',
    'END:VEVENT',
    ...overrides.flatMap((lines) => ['BEGIN:VEVENT', ...common, ...lines, 'END:VEVENT']),
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const unfold = (ics: string) => ics.replace(/\r\n[ \t]/g, '');
const components = (ics: string) => unfold(ics).split('BEGIN:VEVENT').slice(1).map((c) => c.split('END:VEVENT')[0]!);
/** The PARTSTAT of `who` in the component of `ics` whose RECURRENCE-ID line matches `rid`. */
function partstatIn(ics: string, rid: RegExp, who: string): string | undefined {
  const c = components(ics).find((x) => rid.test(x));
  const line = c?.split('\r\n').find((l) => l.startsWith('ATTENDEE') && l.toLowerCase().endsWith(`mailto:${who}`));
  return line ? /PARTSTAT=([A-Z-]+)/.exec(line)?.[1] : undefined;
}

async function invite(uid: string, attendees: string[], overrides?: string[][]) {
  const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: outlookSeries(uid, attendees, overrides) } } });
  expect(result.notCreated).toEqual({});
  return { id: result.created.m!.id, result };
}
const bobCopy = async (uid: string) => (await eventsOf(bob, bobCal)).find((e) => e.uid === uid)!;
const aliceCopy = async (id: string) => (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!.ics;

/** Bob's copy with one occurrence answered alone in a component of his own (Google style: RECURRENCE-ID and times in UTC). */
function withOccurrence(ics: string, lines: string[], partstat: string): string {
  const master = components(ics).find((c) => !/\r\nRECURRENCE-ID/.test(c))!;
  const body = master
    .split('\r\n')
    .filter((l) => l && !/^(RRULE|DTSTART|DTEND)[;:]/.test(l))
    .map((l) => (l.startsWith('ATTENDEE') && l.toLowerCase().endsWith(`mailto:${B}`) ? l.replace(/PARTSTAT=[A-Z-]+/, `PARTSTAT=${partstat}`) : l));
  return unfold(ics).replace('END:VCALENDAR', ['BEGIN:VEVENT', ...body, ...lines, 'END:VEVENT', 'END:VCALENDAR'].join('\r\n'));
}

describe('an answer whose RECURRENCE-ID is written otherwise than the organizer’s', () => {
  it('in UTC (Google) for an Outlook series in a Windows zone: the occurrence is answered alone', async () => {
    const { id } = await invite('utc-answer@rid.test', [`ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${B}`]);
    const copy = await bobCopy('utc-answer@rid.test');
    const written = withOccurrence(copy.ics, ['RECURRENCE-ID:20261221T143000Z', 'DTSTART:20261221T143000Z', 'DTEND:20261221T150000Z'], 'DECLINED');
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: written } } });
    expect(result.notUpdated).toEqual({});
    expect(partstatIn(await aliceCopy(id), /RECURRENCE-ID:20261221T143000Z/, B)).toBe('DECLINED');
    expect(partstatIn(await aliceCopy(id), /^(?![\s\S]*RECURRENCE-ID)/, B)).toBe('NEEDS-ACTION');
    const replies = (await inboxOf(alice)).filter((m) => m.uid === 'utc-answer@rid.test' && m.kind === 'reply');
    expect(replies).toMatchObject([{ from: B, partstat: 'DECLINED', recurrenceId: '20261221T143000Z' }]);
  });

  it('the organizer’s own override rewritten in UTC by the attendee’s client is still that override', async () => {
    const moved = [tz('RECURRENCE-ID', '20261214T093000'), tz('DTSTART', '20261214T110000'), tz('DTEND', '20261214T113000')];
    const { id } = await invite('rewritten@rid.test', [`ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${B}`], [moved]);
    const copy = await bobCopy('rewritten@rid.test');
    // Bob's client keeps the override but writes its RECURRENCE-ID in UTC, and accepts the moved occurrence.
    const text = unfold(copy.ics)
      .replace(/RECURRENCE-ID;TZID="?Eastern Standard Time"?:20261214T093000/, 'RECURRENCE-ID:20261214T143000Z')
      .split('BEGIN:VEVENT')
      .map((c) => (c.includes('RECURRENCE-ID:20261214T143000Z') ? c.replace(new RegExp(`PARTSTAT=[A-Z-]+((?:;[^:\\r\\n]*)?:mailto:${B})`), 'PARTSTAT=ACCEPTED$1') : c))
      .join('BEGIN:VEVENT');
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: text } } });
    expect(result.notUpdated).toEqual({});
    expect(partstatIn(await aliceCopy(id), /RECURRENCE-ID;TZID="?Eastern Standard Time"?:20261214T093000/, B)).toBe('ACCEPTED');
    expect(components(await aliceCopy(id))).toHaveLength(2);
  });

  it('as a DATE: in a written component, and through the reply shortcut', async () => {
    const { id } = await invite('date-answer@rid.test', [`ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${B}`]);
    const copy = await bobCopy('date-answer@rid.test');
    const written = withOccurrence(copy.ics, ['RECURRENCE-ID;VALUE=DATE:20261228', tz('DTSTART', '20261228T093000'), tz('DTEND', '20261228T100000')], 'TENTATIVE');
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: written } } });
    expect(result.notUpdated).toEqual({});
    expect(partstatIn(await aliceCopy(id), /RECURRENCE-ID;VALUE=DATE:20261228/, B)).toBe('TENTATIVE');
    // The reply shortcut names an occurrence by its day.
    const replied = await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'DECLINED', recurrenceId: '20270104' } } });
    expect(Object.keys(replied.replied ?? {})).toEqual([copy.id]);
    const replies = (await inboxOf(alice)).filter((m) => m.uid === 'date-answer@rid.test' && m.kind === 'reply').map((m) => m.recurrenceId);
    expect(replies.sort()).toEqual(['20261228T143000Z', '20270104T143000Z']);
  });
});

describe('a room declining one occurrence the organizer overrode in another form', () => {
  it('declines it in that override, not in a second one for the same occurrence', async () => {
    const taken = await dave.request('CalendarEvent/set', {
      calendarId: daveCal,
      create: {
        m: {
          ics: ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:taken@rid.test', 'DTSTAMP:20261120T120000Z', 'DTSTART:20261221T143000Z', 'DTEND:20261221T150000Z', `ORGANIZER:mailto:${D}`, `ATTENDEE;CUTYPE=ROOM:mailto:${ROOM}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'),
        },
      },
    });
    expect(Object.values(taken.scheduled!)[0]![ROOM]!.partstat).toBe('ACCEPTED');
    // Alice's series keeps the 21st with a new subject, its RECURRENCE-ID in UTC (Google's form), the master in Outlook's zone.
    const renamed = ['RECURRENCE-ID:20261221T143000Z', 'DTSTART:20261221T143000Z', 'DTEND:20261221T150000Z', 'DESCRIPTION:the one before the holidays'];
    const { id, result } = await invite('room-override@rid.test', [`ATTENDEE;CUTYPE=ROOM:mailto:${ROOM}`], [renamed]);
    expect(result.scheduled![id]![ROOM]).toMatchObject({ partstat: 'ACCEPTED', reason: 'conflict', declinedOccurrences: ['20261221T143000Z'] });
    const text = await aliceCopy(id);
    expect(components(text)).toHaveLength(2);
    expect(partstatIn(text, /RECURRENCE-ID:20261221T143000Z/, ROOM)).toBe('DECLINED');
  });
});
