import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, inboxOf, meeting, partstatOf, roomCopyOf, type MeetingOptions } from './helpers.ts';

/**
 * A resource's answer stands through the organizer's non-significant changes
 * (RFC 5546: only time, recurrence and location ask again): an approved
 * request is not put back on hold for a new description or another attendee.
 */
let server: TestServer;
let db: Db;
let admin: DmciClient;
let alice: DmciClient;
let rita: DmciClient;
let aliceCal: string;
const A = 'alice@standing.test';
const B = 'bob@standing.test';
const R = 'rita@standing.test';
const ROOM = 'board@standing.test';
const AUTO = 'cove@standing.test';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@standing.test', undefined, 'domain_admin');
  for (const email of [A, B, R]) await server.createAccount(email);
  admin = await server.connect('admin@standing.test');
  alice = await server.connect(A);
  rita = await server.connect(R);
  aliceCal = await defaultCalendar(alice);
  db = openTestDb(server.databaseUrl);
  for (const [name, email] of [['Board room', ROOM], ['Cove', AUTO]] as const) {
    await admin.request('Admin/directoryCreate', { domain: 'standing.test', kind: 'resource', fields: { displayName: name, email, resourceType: 'room' } });
  }
  await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { mode: 'approval', approvers: [R] } });
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

const roomCopyId = async (room: string, uid: string) => (await roomCopyOf(db, room, uid)).id;
const bookings = (eventId: string) => db.selectFrom('resource_bookings').select('during').where('event_id', '=', eventId).execute();
const approvalsFor = async (uid: string) => (await inboxOf(rita)).filter((m) => m.kind === 'approval' && m.uid === uid);

async function write(id: string | null, options: Omit<MeetingOptions, 'organizer'>) {
  const ics = meeting({ organizer: A, ...options });
  const result = id === null ? await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics } } }) : await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics } } });
  expect(result.notCreated).toEqual({});
  expect(result.notUpdated).toEqual({});
  const eventId = id ?? result.created.m!.id;
  return { id: eventId, scheduled: result.scheduled![eventId]! };
}

describe('a resource’s answer on the organizer’s later changes', () => {
  it('an approved request stays approved when the description changes or someone else is invited; a new time asks again', async () => {
    const uid = 'approved@standing.test';
    const base = { uid, start: '2026-12-08T10:00:00Z', attendees: [{ email: ROOM, cutype: 'ROOM' }] };
    const { id, scheduled } = await write(null, base);
    expect(scheduled[ROOM]).toEqual({ delivery: 'answered', partstat: 'TENTATIVE' });
    const copyId = await roomCopyId(ROOM, uid);
    await rita.request('Resource/decide', { eventId: copyId, decision: 'accept' });
    expect(await approvalsFor(uid)).toEqual([]);

    // Not significant: a description, and Bob invited too.
    const later = await write(id, { ...base, description: 'Agenda attached', attendees: [...base.attendees, B] });
    expect(later.scheduled[ROOM]).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
    expect(partstatOf(organizer.ics, ROOM)).toBe('ACCEPTED');
    expect(await approvalsFor(uid)).toEqual([]);
    expect(await bookings(copyId)).toHaveLength(1);

    // Significant: another hour — held for the approver again.
    const moved = await write(id, { ...base, start: '2026-12-08T11:00:00Z', description: 'Agenda attached', attendees: [...base.attendees, B] });
    expect(moved.scheduled[ROOM]).toEqual({ delivery: 'answered', partstat: 'TENTATIVE' });
    expect(await approvalsFor(uid)).toHaveLength(1);
  });

  it('an auto-accepting room keeps its booking, and cancelling the event by STATUS releases it', async () => {
    const uid = 'auto@standing.test';
    const base = { uid, start: '2026-12-09T10:00:00Z', attendees: [{ email: AUTO, cutype: 'ROOM' }] };
    const { id } = await write(null, base);
    const copyId = await roomCopyId(AUTO, uid);
    expect(await bookings(copyId)).toHaveLength(1);
    expect((await write(id, { ...base, summary: 'Renamed' })).scheduled[AUTO]).toEqual({ delivery: 'answered', partstat: 'ACCEPTED' });
    expect(await bookings(copyId)).toHaveLength(1);
    await write(id, { ...base, summary: 'Renamed', extra: ['STATUS:CANCELLED'] });
    expect(await bookings(copyId)).toHaveLength(0);
  });

  it('an approver revokes an accepted booking: declined, released, the organizer told', async () => {
    const uid = 'revoked@standing.test';
    const { id } = await write(null, { uid, start: '2026-12-10T10:00:00Z', attendees: [{ email: ROOM, cutype: 'ROOM' }, B] });
    const copyId = await roomCopyId(ROOM, uid);
    await rita.request('Resource/decide', { eventId: copyId, decision: 'accept' });
    expect(await bookings(copyId)).toHaveLength(1);
    // An accepted booking cannot be accepted again, only revoked; nobody but an approver revokes it.
    await expect(rita.request('Resource/decide', { eventId: copyId, decision: 'accept' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.request('Resource/decide', { eventId: copyId, decision: 'decline' })).rejects.toMatchObject({ code: 'NOT_FOUND' });

    expect(await rita.request('Resource/decide', { eventId: copyId, decision: 'decline' })).toEqual({ eventId: copyId, partstat: 'DECLINED' });
    expect(await bookings(copyId)).toEqual([]);
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
    expect(partstatOf(organizer.ics, ROOM)).toBe('DECLINED');
    const replies = (await inboxOf(alice)).filter((m) => m.kind === 'reply' && m.uid === uid);
    // Inbox/get lists in no particular order.
    expect(replies.map((m) => `${m.from} ${m.partstat}`).sort()).toEqual([`${ROOM} ACCEPTED`, `${ROOM} DECLINED`]);
    // The slot is free for others.
    const again = await write(null, { uid: 'after-revoke@standing.test', start: '2026-12-10T10:00:00Z', attendees: [{ email: ROOM, cutype: 'ROOM' }] });
    expect(again.scheduled[ROOM]).toEqual({ delivery: 'answered', partstat: 'TENTATIVE' });
  });
});
