import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { bookRoom, defaultCalendar, meeting, partstatOf, roomCopyOf, type MeetingOptions } from './helpers.ts';

/**
 * Rooms (issue 10 item 4): the room answers inside the organizer's
 * CalendarEvent/set, by its booking policy; the exclusion constraint makes a
 * double booking impossible, even for 50 sessions on two nodes at once.
 */
let server: TestServer;
let second: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let dave: DmciClient;
let db: Db;
let aliceCal: string;
let daveCal: string;

const A = 'alice@rooms.test';
const D = 'dave@rooms.test';

beforeAll(async () => {
  server = await startTestServer();
  // A second node on the same database: sessions there book the same rooms.
  second = await startTestServer({}, { databaseUrl: server.databaseUrl });
  await server.createAccount('admin@rooms.test', undefined, 'domain_admin');
  await server.createAccount(A);
  await server.createAccount(D);
  await server.createAccount('eve@other-rooms.test');
  admin = await server.connect('admin@rooms.test');
  alice = await server.connect(A);
  dave = await server.connect(D);
  aliceCal = await defaultCalendar(alice);
  daveCal = await defaultCalendar(dave);
  db = openTestDb(server.databaseUrl);
  for (const [name, email] of [
    ['Harbour', 'harbour@rooms.test'],
    ['Quay', 'quay@rooms.test'],
    ['Pier', 'pier@rooms.test'],
    ['Dock', 'dock@rooms.test'],
  ]) {
    await admin.request('Admin/directoryCreate', { domain: 'rooms.test', kind: 'resource', fields: { displayName: name!, email: email!, resourceType: 'room' } });
  }
});
afterAll(async () => {
  await db.destroy();
  await second.stop();
  await server.stop();
});

let serial = 0;
const book = (client: DmciClient, calendarId: string, organizer: string, room: string, options: Omit<MeetingOptions, 'organizer' | 'attendees'> = {}) =>
  bookRoom(client, calendarId, organizer, room, { ...options, uid: options.uid ?? `r${serial++}@rooms.test` });

const bookingsOf = async (room: string) =>
  db
    .selectFrom('resource_bookings as b')
    .innerJoin('directory_entries as e', 'e.id', 'b.resource_id')
    .select(['b.during', 'b.event_id'])
    .where('e.email', '=', room)
    .execute();

describe('a room with the default policy', () => {
  it('accepts when free, in the organizer’s result, its copy written in the same transaction', async () => {
    const { id, outcome, uid } = await book(alice, aliceCal, A, 'harbour@rooms.test', { start: '2026-12-07T10:00:00Z', summary: 'Board' });
    expect(outcome).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
    expect(partstatOf(organizer.ics, 'harbour@rooms.test')).toBe('ACCEPTED');
    const copy = await roomCopyOf(db, 'harbour@rooms.test', uid);
    expect(partstatOf(copy.ics!, 'harbour@rooms.test')).toBe('ACCEPTED');
    expect(await bookingsOf('harbour@rooms.test')).toHaveLength(1);
  });

  it('declines a conflicting request, naming the time only; back-to-back is fine', async () => {
    const clash = await book(dave, daveCal, D, 'harbour@rooms.test', { start: '2026-12-07T10:30:00Z' });
    expect(clash.outcome).toEqual({
      delivery: 'answered',
      partstat: 'DECLINED',
      reason: 'conflict',
      conflicts: [{ start: '2026-12-07T10:00:00.000Z', end: '2026-12-07T11:00:00.000Z' }],
      // When it is next free for as long (free-next.test.ts).
      freeNext: { start: '2026-12-07T11:00:00.000Z', end: '2026-12-07T12:00:00.000Z' },
      freeEarlier: { start: '2026-12-07T09:00:00.000Z', end: '2026-12-07T10:00:00.000Z' },
    });
    // The decline is in Dave's copy too; the room holds no booking for it.
    const mine = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [clash.id] })).list[0]!;
    expect(partstatOf(mine.ics, 'harbour@rooms.test')).toBe('DECLINED');
    const after = await book(dave, daveCal, D, 'harbour@rooms.test', { start: '2026-12-07T11:00:00Z' });
    const before = await book(dave, daveCal, D, 'harbour@rooms.test', { start: '2026-12-07T09:00:00Z' });
    expect([after.outcome.partstat, before.outcome.partstat]).toEqual(['ACCEPTED', 'ACCEPTED']);
    expect(await bookingsOf('harbour@rooms.test')).toHaveLength(3);
  });

  it('names organizer and subject to the organizer of the conflicting booking, and to everyone when the policy shows details', async () => {
    const own = await book(alice, aliceCal, A, 'harbour@rooms.test', { start: '2026-12-07T10:15:00Z', minutes: 15 });
    expect(own.outcome.conflicts).toEqual([{ start: '2026-12-07T10:00:00.000Z', end: '2026-12-07T11:00:00.000Z', organizer: A, summary: 'Board' }]);
    await admin.request('Admin/resourceSetPolicy', { email: 'harbour@rooms.test', policy: { conflictDetails: true } });
    const other = await book(dave, daveCal, D, 'harbour@rooms.test', { start: '2026-12-07T10:15:00Z', minutes: 15 });
    expect(other.outcome.conflicts).toEqual([{ start: '2026-12-07T10:00:00.000Z', end: '2026-12-07T11:00:00.000Z', organizer: A, summary: 'Board' }]);
    // A private booking shows its time only, whatever the policy.
    const hidden = await book(alice, aliceCal, A, 'harbour@rooms.test', { start: '2026-12-08T10:00:00Z', extra: ['CLASS:PRIVATE'], summary: 'Secret' });
    expect(hidden.outcome.partstat).toBe('ACCEPTED');
    const probe = await book(dave, daveCal, D, 'harbour@rooms.test', { start: '2026-12-08T10:00:00Z' });
    expect(probe.outcome.conflicts).toEqual([{ start: '2026-12-08T10:00:00.000Z', end: '2026-12-08T11:00:00.000Z' }]);
  });

  it('moving the meeting moves the booking; cancelling it frees the room', async () => {
    const { id } = await book(alice, aliceCal, A, 'quay@rooms.test', { start: '2026-12-09T10:00:00Z', uid: 'move@rooms.test' });
    const moved = await alice.request('CalendarEvent/set', {
      calendarId: aliceCal,
      update: { [id]: { ics: meeting({ uid: 'move@rooms.test', organizer: A, attendees: [{ email: 'quay@rooms.test', cutype: 'ROOM' }], start: '2026-12-09T14:00:00Z' }) } },
    });
    expect(moved.scheduled![id]!['quay@rooms.test']).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    expect((await book(dave, daveCal, D, 'quay@rooms.test', { start: '2026-12-09T10:00:00Z' })).outcome.partstat).toBe('ACCEPTED');
    expect((await book(dave, daveCal, D, 'quay@rooms.test', { start: '2026-12-09T14:00:00Z' })).outcome.partstat).toBe('DECLINED');
    const cancelled = await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [id] });
    expect(cancelled.scheduled![id]).toEqual({ 'quay@rooms.test': { delivery: 'cancelled' } });
    expect((await book(dave, daveCal, D, 'quay@rooms.test', { start: '2026-12-09T14:00:00Z' })).outcome.partstat).toBe('ACCEPTED');
  });

  it('declines a recurring series when any occurrence conflicts', async () => {
    await book(alice, aliceCal, A, 'quay@rooms.test', { start: '2026-12-17T09:00:00Z' });
    const series = await book(dave, daveCal, D, 'quay@rooms.test', { start: '2026-12-03T09:00:00Z', rrule: 'FREQ=WEEKLY;COUNT=4' });
    expect(series.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict', conflicts: [{ start: '2026-12-17T09:00:00.000Z' }] });
    const free = await book(dave, daveCal, D, 'quay@rooms.test', { start: '2026-12-03T15:00:00Z', rrule: 'FREQ=WEEKLY;COUNT=4' });
    expect(free.outcome.partstat).toBe('ACCEPTED');
    expect((await bookingsOf('quay@rooms.test')).filter((b) => b.event_id !== undefined).length).toBeGreaterThanOrEqual(5);
  });

  it('with declineConflictingOccurrences, accepts the series and declines the conflicting occurrences alone', async () => {
    const room = 'slip@rooms.test';
    await admin.request('Admin/directoryCreate', { domain: 'rooms.test', kind: 'resource', fields: { displayName: 'Slip', email: room, resourceType: 'room' } });
    const policy = await admin.request('Admin/resourceSetPolicy', { email: room, policy: { declineConflictingOccurrences: true } });
    expect(policy.resource.policy.declineConflictingOccurrences).toBe(true);
    await book(alice, aliceCal, A, room, { start: '2026-12-17T09:00:00Z' });
    const series = await book(dave, daveCal, D, room, { start: '2026-12-03T09:00:00Z', rrule: 'FREQ=WEEKLY;COUNT=4' });
    expect(series.outcome).toEqual({
      delivery: 'answered',
      partstat: 'ACCEPTED',
      reason: 'conflict',
      conflicts: [{ start: '2026-12-17T09:00:00.000Z', end: '2026-12-17T10:00:00.000Z' }],
      declinedOccurrences: ['20261217T090000Z'],
    });
    // Dave's copy: the room accepted the series, and declined the 17th in an override of its own.
    const mine = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [series.id] })).list[0]!;
    expect(partstatOf(mine.ics, room, 0)).toBe('ACCEPTED');
    expect(partstatOf(mine.ics, room, 1)).toBe('DECLINED');
    expect(mine.ics).toMatch(/RECURRENCE-ID:20261217T090000Z/);
    expect(await bookingsOf(room)).toHaveLength(4);
    // The room's own calendar is free at the declined occurrence.
    const free = await db
      .selectFrom('event_instances as i')
      .innerJoin('calendar_events as ev', 'ev.id', 'i.event_id')
      .innerJoin('calendars as c', 'c.id', 'ev.calendar_id')
      .innerJoin('directory_entries as e', 'e.id', 'c.resource_id')
      .select(['i.recurrence_id', 'i.busy_type'])
      .where('e.email', '=', room)
      .where('ev.uid', '=', series.uid)
      .where('i.recurrence_id', '=', '20261217T090000Z')
      .execute();
    expect(free.map((r) => r.busy_type)).toEqual(['FREE']);
    // Every occurrence taken: declined whole, as without the option.
    const clash = await book(dave, daveCal, D, room, { start: '2026-12-03T09:30:00Z', rrule: 'FREQ=WEEKLY;COUNT=2' });
    expect(clash.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict' });
  });
});

describe('booking policies', () => {
  it('decline mode, allowed bookers, duration, window, recurring, approval, conflicts left tentative', async () => {
    const room = 'pier@rooms.test';
    const set = (policy: Record<string, unknown>) => admin.request('Admin/resourceSetPolicy', { email: room, policy });
    await set({ mode: 'decline' });
    expect((await book(alice, aliceCal, A, room)).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'policy' });
    await set({ mode: 'auto', allowedBookers: [D] });
    expect((await book(alice, aliceCal, A, room)).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'not-allowed' });
    await set({ allowedBookers: [], maxDurationMinutes: 60 });
    expect((await book(alice, aliceCal, A, room, { minutes: 90 })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'duration' });
    expect((await book(alice, aliceCal, A, room, { start: '2027-09-01T10:00:00Z' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'window' });
    expect((await book(alice, aliceCal, A, room, { rrule: 'FREQ=WEEKLY' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'window' });
    await set({ allowRecurring: false });
    expect((await book(alice, aliceCal, A, room, { rrule: 'FREQ=DAILY;COUNT=2' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'recurring' });
    await set({ mode: 'approval' });
    expect((await book(alice, aliceCal, A, room, { start: '2026-12-14T10:00:00Z' })).outcome).toEqual({ delivery: 'answered', partstat: 'TENTATIVE' });
    await set({ mode: 'auto', declineConflicts: false });
    const left = await book(dave, daveCal, D, room, { start: '2026-12-14T10:00:00Z' });
    expect(left.outcome).toMatchObject({ partstat: 'TENTATIVE', reason: 'conflict', conflicts: [{ start: '2026-12-14T10:00:00.000Z' }] });
    // Held tentatively by the approval request; Dave's tentative answer booked nothing.
    expect((await bookingsOf(room)).length).toBe(1);
  });

  it('a booker from another domain is not allowed by default', async () => {
    const eve = await server.connect('eve@other-rooms.test');
    const eveCal = await defaultCalendar(eve);
    expect((await book(eve, eveCal, 'eve@other-rooms.test', 'dock@rooms.test')).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'not-allowed' });
  });
});

describe('double booking is impossible', () => {
  it('50 sessions on two nodes booking the same slot at once: exactly one acceptance', async () => {
    const clients: Array<{ client: DmciClient; calendarId: string; email: string }> = [];
    for (let i = 0; i < 50; i++) {
      const email = `booker${i}@rooms.test`;
      await server.createAccount(email);
      // 50 bookings of one room take turns on its lock: on a loaded machine the last waits well past the usual 10 s.
      const patient = { requestTimeoutMs: 120_000 };
      const client = i % 2 === 0 ? await server.connect(email, undefined, patient) : await second.connect(email, undefined, patient);
      clients.push({ client, calendarId: await defaultCalendar(client), email });
    }
    const outcomes = await Promise.all(clients.map(({ client, calendarId, email }) => book(client, calendarId, email, 'dock@rooms.test', { start: '2026-12-21T10:00:00Z' })));
    const partstats = outcomes.map((o) => o.outcome.partstat);
    expect(partstats.filter((p) => p === 'ACCEPTED')).toHaveLength(1);
    expect(partstats.filter((p) => p === 'DECLINED')).toHaveLength(49);
    expect(await bookingsOf('dock@rooms.test')).toHaveLength(1);
  }, 180_000);
});
