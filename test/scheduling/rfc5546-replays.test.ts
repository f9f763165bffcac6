import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { answerInvitation } from '../../connector-sim/scheduling.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, meeting, partstatOf, sequenceOf } from './helpers.ts';

/**
 * The group-scheduling examples of RFC 5546 §4 (request, reply, update, add,
 * cancel of one instance, refresh, counter, declinecounter, per-occurrence
 * reply, cancel), replayed through the protocol: each iTIP message is what
 * the scheduler derives from an ordinary CalendarEvent/set, and we check the
 * calendars and inboxes that result. A is the organizer; B and C attendees.
 */
let server: TestServer;
let a: DmciClient;
let b: DmciClient;
let c: DmciClient;
let aCal: string;
let bCal: string;
let cCal: string;
const A = 'a@itip.test';
const B = 'b@itip.test';
const C = 'c@itip.test';
const UID = 'calsrv.example.com-873970198738777@itip.test';
let organizerId: string;

beforeAll(async () => {
  server = await startTestServer();
  for (const email of [A, B, C]) await server.createAccount(email);
  a = await server.connect(A);
  b = await server.connect(B);
  c = await server.connect(C);
  aCal = await defaultCalendar(a);
  bCal = await defaultCalendar(b);
  cCal = await defaultCalendar(c);
});
afterAll(() => server.stop());

const copyOf = async (client: DmciClient, cal: string) => (await eventsOf(client, cal)).find((e) => e.uid === UID);
const organizer = async () => (await a.request('CalendarEvent/get', { calendarId: aCal, ids: [organizerId] })).list[0]!;
const base = { uid: UID, organizer: A, summary: 'Conference', rrule: 'FREQ=WEEKLY;COUNT=3', start: '2027-01-07T15:00:00Z' };
const everyone = [{ email: A, partstat: 'ACCEPTED' }, B, C];

describe('RFC 5546 §4 replayed', () => {
  it('§4.2.2 REQUEST: A invites B and C to a weekly series', async () => {
    const r = await a.request('CalendarEvent/set', { calendarId: aCal, create: { m: { ics: meeting({ ...base, attendees: everyone }) } } });
    organizerId = r.created.m!.id;
    for (const [client, cal, who] of [[b, bCal, B], [c, cCal, C]] as const) {
      const copy = (await copyOf(client, cal))!;
      expect(copy.recurring).toBe(true);
      expect(partstatOf(copy.ics, who)).toBe('NEEDS-ACTION');
      expect((await inboxOf(client)).filter((m) => m.uid === UID)).toMatchObject([{ kind: 'request', from: A, sequence: 0 }]);
    }
  });

  it('§4.2.3 REPLY: B accepts, C declines; A’s copy holds both', async () => {
    await answerInvitation(b, bCal, (await copyOf(b, bCal))!.id, 'ACCEPTED', { sequence: 0 });
    await answerInvitation(c, cCal, (await copyOf(c, cCal))!.id, 'DECLINED', { sequence: 0 });
    const ics = (await organizer()).ics;
    expect([partstatOf(ics, B), partstatOf(ics, C)]).toEqual(['ACCEPTED', 'DECLINED']);
    expect((await inboxOf(a)).filter((m) => m.kind === 'reply').map((m) => [m.from, m.partstat]).sort()).toEqual([
      [B, 'ACCEPTED'],
      [C, 'DECLINED'],
    ]);
  });

  it('§4.2.5 REFRESH: an attendee’s connector reads its copy again (the copy is always the current REQUEST)', async () => {
    const copy = (await b.request('CalendarEvent/get', { calendarId: bCal, ids: [(await copyOf(b, bCal))!.id] })).list[0]!;
    expect(sequenceOf(copy.ics)).toBe(sequenceOf((await organizer()).ics));
  });

  it('§4.2.6 COUNTER and §4.2.7 DECLINECOUNTER: B proposes another time; A declines', async () => {
    const copy = (await copyOf(b, bCal))!;
    const proposed = await b.request('CalendarEvent/set', { calendarId: bCal, counter: { [copy.id]: { start: '2027-01-07T16:00:00Z', end: '2027-01-07T17:00:00Z', comment: 'Later, please', sequence: 0 } } });
    expect(proposed.replied![copy.id]).toEqual({ version: copy.version });
    const counter = (await inboxOf(a)).find((m) => m.kind === 'counter')!;
    expect(counter).toMatchObject({ from: B, proposedStart: '2027-01-07T16:00:00.000Z', proposedEnd: '2027-01-07T17:00:00.000Z', comment: 'Later, please', eventId: organizerId });
    const declined = await a.request('CalendarEvent/set', { calendarId: aCal, declineCounter: { [organizerId]: { messageId: counter.id, comment: 'Room is taken' } } });
    expect(declined.notReplied ?? {}).toEqual({});
    expect((await inboxOf(b)).find((m) => m.kind === 'declinecounter')).toMatchObject({ from: A, proposedStart: '2027-01-07T16:00:00.000Z', comment: 'Room is taken', eventId: copy.id });
    // The event did not move.
    expect((await organizer()).ics).toContain('DTSTART:20270107T150000Z');
    const again = await a.request('CalendarEvent/set', { calendarId: aCal, declineCounter: { [organizerId]: { messageId: '00000000-0000-4000-8000-000000000009' } } });
    expect(again.notReplied![organizerId]).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('§4.2.6 COUNTER accepted: the organizer moves the event (a significant update, §4.2.4)', async () => {
    const copy = (await copyOf(c, cCal))!;
    await c.request('CalendarEvent/set', { calendarId: cCal, counter: { [copy.id]: { start: '2027-01-07T16:00:00Z', end: '2027-01-07T17:00:00Z' } } });
    await a.request('CalendarEvent/set', { calendarId: aCal, update: { [organizerId]: { ics: meeting({ ...base, start: '2027-01-07T16:00:00Z', attendees: everyone }) } } });
    const ics = (await organizer()).ics;
    expect(sequenceOf(ics)).toBe(1);
    expect([partstatOf(ics, B), partstatOf(ics, C)]).toEqual(['NEEDS-ACTION', 'NEEDS-ACTION']);
    expect((await copyOf(c, cCal))!.ics).toContain('DTSTART:20270107T160000Z');
    expect((await inboxOf(c)).filter((m) => m.kind === 'update')).toMatchObject([{ sequence: 1 }]);
    // A proposal about the old version is stale now.
    const stale = await b.request('CalendarEvent/set', { calendarId: bCal, counter: { [(await copyOf(b, bCal))!.id]: { start: '2027-01-07T18:00:00Z', end: '2027-01-07T19:00:00Z', sequence: 0 } } });
    expect(Object.values(stale.notReplied!)).toMatchObject([{ code: 'STALE_ANSWER' }]);
  });

  it('§4.4.1 ADD an instance and §4.5.1 CANCEL one instance: the organizer adds an RDATE and an EXDATE', async () => {
    await a.request('CalendarEvent/set', {
      calendarId: aCal,
      update: { [organizerId]: { ics: meeting({ ...base, start: '2027-01-07T16:00:00Z', attendees: everyone, sequence: 1, extra: ['RDATE:20270201T160000Z', 'EXDATE:20270114T160000Z'] }) } },
    });
    const { instances } = await b.request('CalendarEvent/query', { calendarIds: [bCal], from: '2027-01-01T00:00:00Z', to: '2027-03-01T00:00:00Z' });
    expect(instances.filter((i) => i.uid === UID).map((i) => i.start)).toEqual(['2027-01-07T16:00:00.000Z', '2027-01-21T16:00:00.000Z', '2027-02-01T16:00:00.000Z']);
    expect(sequenceOf((await copyOf(b, bCal))!.ics)).toBe(2);
  });

  it('§4.4.2 REPLY to one instance: B declines the added one only', async () => {
    const copy = (await copyOf(b, bCal))!;
    await answerInvitation(b, bCal, copy.id, 'ACCEPTED', { sequence: 2 });
    await answerInvitation(b, bCal, copy.id, 'DECLINED', { recurrenceId: '20270201T160000Z', sequence: 2 });
    const ics = (await organizer()).ics;
    expect(partstatOf(ics, B, 0)).toBe('ACCEPTED');
    expect(partstatOf(ics, B, 1)).toBe('DECLINED');
    const { instances } = await b.request('CalendarEvent/query', { calendarIds: [bCal], from: '2027-01-01T00:00:00Z', to: '2027-03-01T00:00:00Z' });
    expect(instances.filter((i) => i.uid === UID).map((i) => i.busyType)).toEqual(['BUSY', 'BUSY', 'FREE']);
  });

  it('§4.2.9 CANCEL: A cancels the whole event', async () => {
    await a.request('CalendarEvent/set', { calendarId: aCal, destroy: [organizerId] });
    expect(await copyOf(b, bCal)).toBeUndefined();
    expect(await copyOf(c, cCal)).toBeUndefined();
    expect((await inboxOf(b)).filter((m) => m.kind === 'cancel')).toMatchObject([{ uid: UID, from: A }]);
  });
});
