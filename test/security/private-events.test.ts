import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10: what a writer without private access learns of a private
 * event is exactly its redacted form — no stray property parameters, and no
 * real UID through an idempotency-key replay.
 */
let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let calendarId: string;
const REAL_UID = 'ceo-offsite-2026@secret.example';

const PRIVATE_EVENT = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//dmci tests//EN',
  'BEGIN:VEVENT',
  `UID:${REAL_UID}`,
  'DTSTAMP;X-WHO=ceo:20261001T000000Z',
  'DTSTART;X-SECRET=acquisition-talks;TZID=Europe/Berlin:20261210T100000',
  'DTEND;TZID=Europe/Berlin;X-ROOM=boardroom:20261210T110000',
  'RRULE:FREQ=WEEKLY;COUNT=3',
  'EXDATE;TZID=Europe/Berlin;X-WHY=lawyers:20261217T100000',
  'STATUS;LANGUAGE=de;X-NOTE=confidential-deal:CONFIRMED',
  'TRANSP;X-T=secret:OPAQUE',
  'CLASS;X-C=secret:PRIVATE',
  'SUMMARY:Acquisition talks',
  'END:VEVENT',
  'BEGIN:VEVENT',
  `UID:${REAL_UID}`,
  'DTSTAMP:20261001T000000Z',
  'RECURRENCE-ID;TZID=Europe/Berlin;RANGE=THISANDFUTURE;X-OVR=moved-by-ceo:20261224T100000',
  'DTSTART;TZID=Europe/Berlin:20261224T120000',
  'DTEND;VALUE=DATE-TIME;TZID=Europe/Berlin:20261224T130000',
  'CLASS:PRIVATE',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  calendarId = await defaultCalendarId(alice);
  await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@example.com': 'write' } } } });
});
afterAll(() => server?.stop());

/** Every parameter name of every content line (after unfolding). */
function parameterNames(ics: string): string[] {
  const names: string[] = [];
  for (const line of ics.replace(/\r\n[ \t]/g, '').split(/\r\n/)) {
    const head = line.slice(0, line.search(/:(?=(?:[^"]*"[^"]*")*[^"]*$)/) >>> 0);
    for (const part of head.split(';').slice(1)) names.push(part.split('=')[0]!.toUpperCase());
  }
  return names;
}

it('keeps only the parameters needed to place a redacted event in time', async () => {
  const set = await alice.request('CalendarEvent/set', { calendarId, create: { p: { ics: PRIVATE_EVENT } } });
  const id = set.created.p!.id;
  const seen = (await bob.request('CalendarEvent/get', { calendarId, ids: [id] })).list[0]!;
  expect(seen.view).toBe('time');
  expect(seen.ics).toContain('DTSTART;TZID=Europe/Berlin:20261210T100000');
  expect(seen.ics).toMatch(/RECURRENCE-ID;(TZID=Europe\/Berlin;RANGE=THISANDFUTURE|RANGE=THISANDFUTURE;TZID=Europe\/Berlin):20261224T100000/);
  expect(parameterNames(seen.ics).filter((name) => !['TZID', 'VALUE', 'RANGE'].includes(name))).toEqual([]);
  for (const secret of ['acquisition', 'boardroom', 'lawyers', 'confidential-deal', 'moved-by-ceo', 'ceo', 'LANGUAGE', 'X-']) expect(seen.ics).not.toContain(secret);
  // The changes path renders the same way.
  const changes = await bob.request('CalendarEvent/changes', { calendarId });
  expect(changes.created.find((e) => e.id === id)!.ics).toBe(seen.ics);
});

it('answers a replayed idempotency key with the UID as the caller sees it', async () => {
  const set = await alice.request('CalendarEvent/set', { calendarId, create: { p: { ics: simpleEvent({ uid: 'private-replay@secret.example', extra: 'CLASS:PRIVATE' }), idempotencyKey: 'outlook-create-42' } } });
  const id = set.created.p!.id;
  const replay = await bob.request('CalendarEvent/set', { calendarId, create: { again: { ics: simpleEvent(), idempotencyKey: 'outlook-create-42' } } });
  const seen = (await bob.request('CalendarEvent/get', { calendarId, ids: [id] })).list[0]!;
  expect(replay.created.again).toEqual({ id, uid: seen.uid, version: 1 });
  expect(JSON.stringify(replay)).not.toContain('private-replay@secret.example');
  // The owner's own retry still gets the real UID.
  const own = await alice.request('CalendarEvent/set', { calendarId, create: { again: { ics: simpleEvent(), idempotencyKey: 'outlook-create-42' } } });
  expect(own.created.again).toEqual({ id, uid: 'private-replay@secret.example', version: 1 });
});
