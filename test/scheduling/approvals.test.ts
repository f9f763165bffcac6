import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciRequestError, type DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, inboxOf, meeting, partstatOf, roomCopyOf } from './helpers.ts';

/**
 * The approver workflow (issue 10, session 4): a resource in `approval` mode
 * holds a request (TENTATIVE, booked); its approvers get `approval` inbox
 * messages and accept or decline with Resource/decide; the organizer's copy
 * and the resource's calendar follow; an acceptance that would now overlap a
 * booking is refused with BOOKING_CONFLICT.
 */
let server: TestServer;
let db: Db;
let admin: DmciClient;
let alice: DmciClient;
let dave: DmciClient;
let rita: DmciClient;
let aliceCal: string;
let daveCal: string;
const A = 'alice@approve.test';
const D = 'dave@approve.test';
const R = 'rita@approve.test';
const ROOM = 'board@approve.test';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@approve.test', undefined, 'domain_admin');
  for (const email of [A, D, R]) await server.createAccount(email);
  admin = await server.connect('admin@approve.test');
  alice = await server.connect(A);
  dave = await server.connect(D);
  rita = await server.connect(R);
  aliceCal = await defaultCalendar(alice);
  daveCal = await defaultCalendar(dave);
  db = openTestDb(server.databaseUrl);
  await admin.request('Admin/directoryCreate', { domain: 'approve.test', kind: 'resource', fields: { displayName: 'Board room', email: ROOM, resourceType: 'room' } });
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

async function book(client: DmciClient, calendarId: string, organizer: string, uid: string, start: string) {
  const result = await client.request('CalendarEvent/set', { calendarId, create: { m: { ics: meeting({ uid, organizer, attendees: [{ email: ROOM, cutype: 'ROOM' }], start }) } } });
  expect(result.notCreated).toEqual({});
  const id = result.created.m!.id;
  return { id, outcome: result.scheduled![id]![ROOM]! };
}

const roomCopy = (uid: string) => roomCopyOf(db, ROOM, uid);
const bookings = (eventId: string) => db.selectFrom('resource_bookings').select('during').where('event_id', '=', eventId).execute();
const decide = (client: DmciClient, eventId: string, decision: 'accept' | 'decline') => client.request('Resource/decide', { eventId, decision });
async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DmciRequestError);
  return error as DmciRequestError;
}

describe('approvers of a resource in approval mode', () => {
  it('see a held request in their inbox, accept it; the organizer’s copy and the room’s calendar follow', async () => {
    const policy = await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { mode: 'approval', approvers: [R] } });
    expect(policy.resource.policy.approvers).toEqual([R]);
    const { id, outcome } = await book(alice, aliceCal, A, 'held-1@approve.test', '2026-12-08T10:00:00Z');
    expect(outcome).toEqual({ delivery: 'answered', partstat: 'TENTATIVE' });

    const asks = (await inboxOf(rita)).filter((m) => m.kind === 'approval');
    expect(asks).toHaveLength(1);
    const copy = await roomCopy('held-1@approve.test');
    expect(asks[0]).toMatchObject({ uid: 'held-1@approve.test', from: A, eventId: copy.id, onBehalfOf: ROOM });
    // Nobody else is asked; the organizer is not an approver.
    expect((await inboxOf(dave)).filter((m) => m.kind === 'approval')).toEqual([]);
    expect((await refusal(decide(dave, copy.id, 'accept'))).code).toBe('NOT_FOUND');
    expect((await refusal(decide(alice, copy.id, 'accept'))).code).toBe('NOT_FOUND');

    expect(await decide(rita, copy.id, 'accept')).toEqual({ eventId: copy.id, partstat: 'ACCEPTED' });
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
    expect(partstatOf(organizer.ics, ROOM)).toBe('ACCEPTED');
    expect(partstatOf((await roomCopy('held-1@approve.test')).ics!, ROOM)).toBe('ACCEPTED');
    expect(await bookings(copy.id)).toHaveLength(1);
    expect((await inboxOf(alice)).filter((m) => m.kind === 'reply')).toMatchObject([{ from: ROOM, partstat: 'ACCEPTED', eventId: id }]);
    // Decided: the approval message is gone, and the request is no longer held (a decline would now revoke it).
    expect((await inboxOf(rita)).filter((m) => m.kind === 'approval')).toEqual([]);
    expect((await refusal(decide(rita, copy.id, 'accept'))).code).toBe('NOT_FOUND');
  });

  it('refuses an acceptance that would now overlap a booking; a decline frees the request', async () => {
    // Dave's request overlaps Alice's accepted booking: left tentative, unbooked (declineConflicts off).
    await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { declineConflicts: false } });
    const { id, outcome } = await book(dave, daveCal, D, 'held-2@approve.test', '2026-12-08T10:30:00Z');
    expect(outcome).toMatchObject({ partstat: 'TENTATIVE', reason: 'conflict' });
    const copy = await roomCopy('held-2@approve.test');
    const refused = await refusal(decide(rita, copy.id, 'accept'));
    expect(refused.code).toBe('BOOKING_CONFLICT');
    expect(refused.details).toMatchObject({ conflicts: [{ start: '2026-12-08T10:00:00.000Z', end: '2026-12-08T11:00:00.000Z' }] });
    expect(await bookings(copy.id)).toEqual([]);
    const mine = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [id] })).list[0]!;
    expect(partstatOf(mine.ics, ROOM)).toBe('TENTATIVE');

    expect(await decide(rita, copy.id, 'decline')).toEqual({ eventId: copy.id, partstat: 'DECLINED' });
    const declined = (await dave.request('CalendarEvent/get', { calendarId: daveCal, ids: [id] })).list[0]!;
    expect(partstatOf(declined.ics, ROOM)).toBe('DECLINED');
    expect((await inboxOf(dave)).filter((m) => m.kind === 'reply')).toMatchObject([{ from: ROOM, partstat: 'DECLINED' }]);
  });

  it('dismisses the approval messages when the organizer cancels a held request', async () => {
    await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { declineConflicts: true } });
    const { id } = await book(alice, aliceCal, A, 'held-3@approve.test', '2026-12-09T10:00:00Z');
    expect((await inboxOf(rita)).filter((m) => m.kind === 'approval').map((m) => m.uid)).toEqual(['held-3@approve.test']);
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [id] });
    expect((await inboxOf(rita)).filter((m) => m.kind === 'approval')).toEqual([]);
  });

  it('approvers must be people with an account in the resource’s domain', async () => {
    const error = await refusal(admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { approvers: ['nobody@approve.test'] } }));
    expect(error.code).toBe('NOT_FOUND');
    expect((await admin.request('Admin/resourceGet', { email: ROOM })).resource.policy.approvers).toEqual([R]);
  });
});
