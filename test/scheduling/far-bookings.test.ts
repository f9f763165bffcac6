import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { createLogger } from '../../server/log/logger.ts';
import { SeriesSkipAnswers } from '../../server/scheduling/series-skip-answers.ts';
import { claimDueSkips } from '../../server/scheduling/series-skips.repository.ts';
import { bookRoom, defaultCalendar, eventsOf, inboxOf, meeting, meetLate as meetLateIn, partstatOf, roomCopyOf } from './helpers.ts';

const silentLog = createLogger('silent');

/**
 * Rooms never double-book beyond the occurrence-index horizon (two years
 * ahead): a series reaching past it — without an end, or ending years out —
 * is compared with bookings in that far range (room-booking-reach.ts).
 */
let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let dave: DmciClient;
let db: Db;
let aliceCal: string;
let daveCal: string;

const A = 'alice@far.test';
const D = 'dave@far.test';
const ROOMS = ['north', 'south', 'east', 'west', 'held', 'split', 'late', 'crash', 'gone', 'approve', 'rebook'] as const;
const room = (name: (typeof ROOMS)[number]) => `${name}@far.test`;

beforeAll(async () => {
  // The room's answers to skipped occurrences are driven by the test (runOnce), not by the job's timer.
  server = await startTestServer({ DMCI_ROOM_SKIP_POLL_MS: '3600000' });
  await server.createAccount('admin@far.test', undefined, 'domain_admin');
  await server.createAccount(A);
  await server.createAccount(D);
  admin = await server.connect('admin@far.test');
  alice = await server.connect(A);
  dave = await server.connect(D);
  aliceCal = await defaultCalendar(alice);
  daveCal = await defaultCalendar(dave);
  db = openTestDb(server.databaseUrl);
  for (const name of ROOMS) {
    await admin.request('Admin/directoryCreate', { domain: 'far.test', kind: 'resource', fields: { displayName: name, email: room(name), resourceType: 'room' } });
    // Ten years ahead, and series without an end booked.
    await admin.request('Admin/resourceSetPolicy', { email: room(name), policy: { bookingWindowDays: 3650, unboundedSeries: true } });
  }
  await admin.request('Admin/resourceSetPolicy', { email: room('split'), policy: { declineConflictingOccurrences: true } });
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

const book = bookRoom;

/** The occurrence two endless series first share: December 4th 2029, a Tuesday. */
const LATE_RID = '20291204T100000Z';

/** The late meeting of two endless series in one of this file's rooms (helpers.ts `meetLate`). */
const meetLate = (name: (typeof ROOMS)[number], grownWindowDays = 3650, answer: 'ACCEPTED' | 'TENTATIVE' = 'ACCEPTED') =>
  meetLateIn({ admin, alice, dave, aliceCal, daveCal, A, D }, room(name), grownWindowDays, answer);

const skipsOf = async (name: (typeof ROOMS)[number]) =>
  (await db.selectFrom('resource_series_skips as s').innerJoin('directory_entries as e', 'e.id', 's.resource_id').select('s.recurrence_id').where('e.email', '=', room(name)).execute()).map((r) => r.recurrence_id);

const bookedRows = async (address: string) =>
  db.selectFrom('resource_bookings as b').innerJoin('directory_entries as e', 'e.id', 'b.resource_id').select('b.during').where('e.email', '=', address).execute();

describe('a series past the index horizon', () => {
  it('an endless weekly series booked today conflicts with a one-off three years out on a Tuesday', async () => {
    // 2026-12-01 is a Tuesday; so is 2029-12-04.
    const series = await book(alice, aliceCal, A, room('north'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' });
    expect(series.outcome).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    const far = await book(dave, daveCal, D, room('north'), { start: '2029-12-04T10:30:00Z' });
    expect(far.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict', conflicts: [{ start: '2029-12-04T10:00:00.000Z', end: '2029-12-04T11:00:00.000Z' }] });
    // A Wednesday that far out is free.
    expect((await book(dave, daveCal, D, room('north'), { start: '2029-12-05T10:00:00Z' })).outcome).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
  });

  it('an endless series booked after a far one-off conflicts with it', async () => {
    expect((await book(dave, daveCal, D, room('south'), { start: '2029-12-04T10:30:00Z' })).outcome.partstat).toBe('ACCEPTED');
    const series = await book(alice, aliceCal, A, room('south'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' });
    expect(series.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict', conflicts: [{ start: '2029-12-04T10:30:00.000Z' }] });
    expect(await bookedRows(room('south'))).toHaveLength(1);
  });

  it('declineConflictingOccurrences declines a clash three years out alone: an override past the index, the rest booked', async () => {
    expect((await book(dave, daveCal, D, room('split'), { start: '2029-12-04T10:30:00Z' })).outcome.partstat).toBe('ACCEPTED');
    const series = await book(alice, aliceCal, A, room('split'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY;UNTIL=20300301T000000Z' });
    expect(series.outcome).toMatchObject({ partstat: 'ACCEPTED', reason: 'conflict', declinedOccurrences: ['20291204T100000Z'] });
    // The organizer's copy declines that occurrence alone, in an override made past the index, at its own time.
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [series.id] })).list[0]!;
    const unfolded = organizer.ics.replace(/\r\n[ \t]/g, '');
    expect(unfolded).toContain('RECURRENCE-ID:20291204T100000Z');
    expect(unfolded).toMatch(/RECURRENCE-ID:20291204T100000Z[\s\S]*DTSTART:20291204T100000Z|DTSTART:20291204T100000Z[\s\S]*RECURRENCE-ID:20291204T100000Z/);
    expect(partstatOf(organizer.ics, room('split'), 0)).toBe('ACCEPTED');
    expect(partstatOf(organizer.ics, room('split'), 1)).toBe('DECLINED');
    // Booked: every other Tuesday through February 2030 (the week before and after too), and Dave's one-off.
    const rows = (await bookedRows(room('split'))).map((r) => String(r.during));
    expect(rows.filter((d) => d.includes('2029-12-04'))).toHaveLength(1);
    expect(rows.some((d) => d.includes('2029-12-11'))).toBe(true);
    expect(rows.some((d) => d.includes('2029-11-27'))).toBe(true);
  });

  it('a series ending four years out is booked whole and conflicts in its last year', async () => {
    const series = await book(alice, aliceCal, A, room('east'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY;UNTIL=20301231T000000Z' });
    expect(series.outcome).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    // Every Tuesday through 2030 is a row: the exclusion constraint has the last word that far out too.
    expect((await bookedRows(room('east'))).length).toBeGreaterThan(52 * 4);
    expect((await book(dave, daveCal, D, room('east'), { start: '2030-12-24T10:15:00Z' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict' });
    expect((await book(dave, daveCal, D, room('east'), { start: '2031-01-07T10:00:00Z' })).outcome.partstat).toBe('ACCEPTED');
  });

  it('two endless series meeting only years out: the later one is declined', async () => {
    // Weekly on Tuesdays, and yearly on December 4th — a Tuesday first in 2029.
    expect((await book(alice, aliceCal, A, room('west'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' })).outcome.partstat).toBe('ACCEPTED');
    const yearly = await book(dave, daveCal, D, room('west'), { start: '2026-12-04T10:00:00Z', rrule: 'FREQ=YEARLY' });
    // Found through the ten-year window: 2029 and 2035 (December 4th falls on a Tuesday then).
    expect(yearly.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict' });
    expect(yearly.outcome.conflicts!.map((c) => c.start)).toEqual(['2029-12-04T10:00:00.000Z', '2035-12-04T10:00:00.000Z']);
  });

  it('two endless series first meeting past the reach compared when the later was booked: the first keeps it, and the room declines the later one there in every copy', async () => {
    const { weekly, yearly } = await meetLate('late');
    const that = await db
      .selectFrom('resource_bookings as b')
      .innerJoin('directory_entries as e', 'e.id', 'b.resource_id')
      .select('b.event_id')
      .where('e.email', '=', room('late'))
      .where(sql<boolean>`b.during && tstzrange('2029-12-04T10:00:00Z', '2029-12-04T11:00:00Z')`)
      .execute();
    // Never double-booked: the weekly series (booked first) holds that hour.
    expect(that.map((r) => r.event_id)).toEqual([(await roomCopyOf(db, room('late'), weekly.uid)).id]);
    // The skip is recorded in the transaction that made it; the room answers it in its own (the job, run here).
    expect(await skipsOf('late')).toEqual([LATE_RID]);
    expect(await server.app.services.seriesSkips.runOnce()).toBe(1);
    expect(await skipsOf('late')).toEqual([]);
    // Every copy tells the truth: the room DECLINED for that occurrence alone (an override past the index), ACCEPTED otherwise.
    const organizer = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [yearly.id] })).list[0]!;
    const attendee = (await eventsOf(alice, aliceCal)).find((e) => e.uid === yearly.uid)!;
    const roomCopy = await roomCopyOf(db, room('late'), yearly.uid);
    for (const ics of [organizer.ics, attendee.ics, roomCopy.ics!]) {
      expect(ics.replace(/\r\n[ \t]/g, '')).toContain(`RECURRENCE-ID:${LATE_RID}`);
      expect(partstatOf(ics, room('late'), 0)).toBe('ACCEPTED');
      expect(partstatOf(ics, room('late'), 1)).toBe('DECLINED');
    }
    // Alice keeps her own answer in the new override.
    expect(partstatOf(attendee.ics, A, 1)).toBe(partstatOf(attendee.ics, A, 0));
    // The organizer is told by the room, with when it is free instead.
    const replies = (await inboxOf(dave)).filter((m) => m.kind === 'reply' && m.from === room('late'));
    expect(replies).toMatchObject([
      {
        partstat: 'DECLINED',
        recurrenceId: LATE_RID,
        eventId: yearly.id,
        freeNext: { start: '2029-12-04T11:00:00.000Z', end: '2029-12-04T12:00:00.000Z' },
        freeEarlier: { start: '2029-12-04T09:00:00.000Z', end: '2029-12-04T10:00:00.000Z' },
      },
    ]);
    // Once: a second pass finds nothing to answer.
    expect(await server.app.services.seriesSkips.runOnce()).toBe(0);
    expect((await inboxOf(dave)).filter((m) => m.kind === 'reply' && m.from === room('late'))).toHaveLength(1);
    // The yearly series stays booked elsewhere: its 2030 occurrence is its own.
    expect((await book(dave, daveCal, D, room('late'), { start: '2030-12-04T10:30:00Z' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict' });
  });

  it('a skip claimed by a node that died is answered by another once its lease runs out; two nodes answer it once', async () => {
    const { yearly } = await meetLate('crash');
    // A node claims the skip and dies before answering: while its lease runs, nobody else takes it.
    expect(await claimDueSkips(db, 'dead-node', 60_000, 10)).toHaveLength(1);
    expect(await server.app.services.seriesSkips.runOnce()).toBe(0);
    expect(await skipsOf('crash')).toEqual([LATE_RID]);
    await db.updateTable('resource_series_skips').set({ lease_until: new Date(Date.now() - 1000) }).execute();
    // Two nodes at once (this one and another sharing the database): one answers, the other finds it answered.
    const other = new SeriesSkipAnswers({ db, bus: { publish: () => undefined }, events: server.app.services.calendarEvents, log: silentLog, node: 'other-node', invitationCopiesPerMinute: 2000 });
    const claimed = await Promise.all([server.app.services.seriesSkips.runOnce(), other.runOnce()]);
    expect(claimed.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1);
    expect(await skipsOf('crash')).toEqual([]);
    const replies = (await inboxOf(dave)).filter((m) => m.kind === 'reply' && m.from === room('crash'));
    expect(replies).toMatchObject([{ partstat: 'DECLINED', recurrenceId: LATE_RID, eventId: yearly.id }]);
    const organizer = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [yearly.id] })).list[0]!;
    expect(partstatOf(organizer.ics, room('crash'), 1)).toBe('DECLINED');
  });

  it('a held series declined late in one occurrence can still be accepted by its approver: that occurrence stays out', async () => {
    await admin.request('Admin/resourceSetPolicy', { email: room('approve'), policy: { mode: 'approval', approvers: [A] } });
    // A window of 1,200 days: it reaches December 2029, not the next December 4th on a Tuesday (2035).
    const { yearly } = await meetLate('approve', 1200, 'TENTATIVE');
    expect(await server.app.services.seriesSkips.runOnce()).toBe(1);
    const copy = await roomCopyOf(db, room('approve'), yearly.uid);
    expect(partstatOf(copy.ics!, room('approve'), 1)).toBe('DECLINED');
    // Accepting books the series again, without the occurrence the room declined (it would overlap the weekly series).
    expect(await alice.request('Resource/decide', { eventId: copy.id, decision: 'accept' })).toEqual({ eventId: copy.id, partstat: 'ACCEPTED' });
    const organizer = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [yearly.id] })).list[0]!;
    expect([partstatOf(organizer.ics, room('approve'), 0), partstatOf(organizer.ics, room('approve'), 1)]).toEqual(['ACCEPTED', 'DECLINED']);
    const rows = (await bookedRows(room('approve'))).map((r) => String(r.during));
    expect(rows.filter((d) => d.includes('2029-12-04 10:00'))).toHaveLength(1);
    expect(rows.some((d) => d.includes('2028-12-04'))).toBe(true);
  });

  it('the earlier series cancelled after the late decline: the occurrence stays declined until the later series is changed', async () => {
    const { weekly, yearly } = await meetLate('rebook');
    expect(await server.app.services.seriesSkips.runOnce()).toBe(1);
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [weekly.id] });
    // The room does not re-book it by itself (as Exchange's rooms do not): the copies still say DECLINED, and no row holds it.
    const organizer = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [yearly.id] })).list[0]!;
    expect(partstatOf(organizer.ics, room('rebook'), 1)).toBe('DECLINED');
    const at = async () => (await bookedRows(room('rebook'))).map((r) => String(r.during)).filter((d) => d.includes('2029-12-04 10:00'));
    expect(await at()).toEqual([]);
    // A significant change (here a location) asks the room again: it books that occurrence now, and the override goes.
    const moved = meeting({ uid: yearly.uid, organizer: D, attendees: [A, { email: room('rebook'), cutype: 'ROOM' }], start: '2026-12-04T10:00:00Z', rrule: 'FREQ=YEARLY', location: 'Harbour' });
    const result = await dave.request('CalendarEvent/set', { calendarId: daveCal, update: { [yearly.id]: { ics: moved } } });
    expect(result.scheduled![yearly.id]![room('rebook')]).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    expect(await at()).toHaveLength(1);
  });

  it('a later series cancelled before the room answers leaves nothing to answer', async () => {
    const { yearly } = await meetLate('gone');
    expect(await skipsOf('gone')).toEqual([LATE_RID]);
    await dave.request('CalendarEvent/set', { calendarId: daveCal, destroy: [yearly.id] });
    expect(await skipsOf('gone')).toEqual([]);
    expect(await server.app.services.seriesSkips.runOnce()).toBe(0);
    expect((await inboxOf(dave)).filter((m) => m.kind === 'reply' && m.from === room('gone'))).toEqual([]);
  });

  it('without the policy option an endless series is declined (window), and one starting past the window too', async () => {
    await admin.request('Admin/resourceSetPolicy', { email: room('held'), policy: { unboundedSeries: false } });
    expect((await book(alice, aliceCal, A, room('held'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'window' });
    await admin.request('Admin/resourceSetPolicy', { email: room('held'), policy: { unboundedSeries: true, bookingWindowDays: 30 } });
    expect((await book(alice, aliceCal, A, room('held'), { start: '2027-06-01T10:00:00Z', rrule: 'FREQ=WEEKLY' })).outcome).toMatchObject({ partstat: 'DECLINED', reason: 'window' });
  });

  it('a cancelled endless series frees the far range', async () => {
    await admin.request('Admin/resourceSetPolicy', { email: room('held'), policy: { bookingWindowDays: 3650 } });
    const series = await book(alice, aliceCal, A, room('held'), { start: '2026-12-01T10:00:00Z', rrule: 'FREQ=WEEKLY' });
    expect(series.outcome.partstat).toBe('ACCEPTED');
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [series.id] });
    const seriesOfRoom = await db.selectFrom('resource_series_bookings as s').innerJoin('directory_entries as e', 'e.id', 's.resource_id').select('s.event_id').where('e.email', '=', room('held')).execute();
    expect(seriesOfRoom).toEqual([]);
    expect((await book(dave, daveCal, D, room('held'), { start: '2029-12-04T10:00:00Z' })).outcome.partstat).toBe('ACCEPTED');
  });
});
