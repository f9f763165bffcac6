import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { calendarEventsSource } from '../../connector-sim/calendar-sources.ts';
import { Replica } from '../../connector-sim/replica.ts';
import { answerInvitation } from '../../connector-sim/scheduling.ts';
import type { Calendar, CalendarEvent } from '../../protocol/index.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { eventsOf, meeting, partstatOf, roomCopyOf } from './helpers.ts';

/**
 * Every answer reaches every internal attendee's copy (issue 10): as an
 * organizer's server refreshes the attendees' copies after a REPLY, Bob's
 * copy follows Carol's decline and the room's approval and revoke — pushed
 * to Bob's connector, which follows his calendar as connector-sim does.
 */
let server: TestServer;
let db: Db;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
let rita: DmciClient;
let aliceCal: string;
let bobCal: Calendar;
let carolCal: string;
let bobReplica: Replica;
const A = 'alice@spread.test';
const B = 'bob@spread.test';
const C = 'carol@spread.test';
const R = 'rita@spread.test';
const ROOM = 'loft@spread.test';

const defaultOf = async (client: DmciClient) => (await client.request('Calendar/get', {})).list.find((c) => c.isDefault)!;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@spread.test', undefined, 'domain_admin');
  for (const email of [A, B, C, R]) await server.createAccount(email);
  const admin = await server.connect('admin@spread.test');
  alice = await server.connect(A);
  bob = await server.connect(B);
  carol = await server.connect(C);
  rita = await server.connect(R);
  aliceCal = (await defaultOf(alice)).id;
  bobCal = await defaultOf(bob);
  carolCal = (await defaultOf(carol)).id;
  db = openTestDb(server.databaseUrl);
  await admin.request('Admin/directoryCreate', { domain: 'spread.test', kind: 'resource', fields: { displayName: 'Loft', email: ROOM, resourceType: 'room' } });
  await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { mode: 'approval', approvers: [R] } });
  bobReplica = new Replica(bob!);
  await bobReplica.track(calendarEventsSource(bobCal));
});
afterAll(async () => {
  bobReplica.detach();
  await db.destroy();
  await server.stop();
});

/** Bob's copy of `uid` as his connector holds it (kept by pushes). */
const bobsCopy = (uid: string) => Object.values(bobReplica.objectsOf<CalendarEvent>(bobCal.scope)).find((e) => e.uid === uid);
const copyIn = async (client: DmciClient, calendarId: string, uid: string) => (await eventsOf(client, calendarId)).find((e) => e.uid === uid)!;

const roomCopyId = async (uid: string) => (await roomCopyOf(db, ROOM, uid)).id;

async function invite(uid: string, extra: { rrule?: string } = {}) {
  const ics = meeting({ uid, organizer: A, start: '2026-12-14T09:00:00Z', attendees: [{ email: A, partstat: 'ACCEPTED' }, B, C, { email: ROOM, cutype: 'ROOM' }], ...extra });
  const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics } } });
  expect(result.notCreated).toEqual({});
  return result.created.m!.id;
}

describe('an answer reaches the other attendees’ copies', () => {
  it('Bob’s copy shows Carol’s decline and the room’s approval, then its revoke, pushed', async () => {
    const uid = 'spread@spread.test';
    await invite(uid);
    await expect.poll(() => bobsCopy(uid) && partstatOf(bobsCopy(uid)!.ics, ROOM)).toBe('TENTATIVE');
    const bobVersion = bobsCopy(uid)!.version;

    const carolsCopy = await copyIn(carol, carolCal, uid);
    await answerInvitation(carol, carolCal, carolsCopy.id, 'DECLINED');
    await expect.poll(() => partstatOf(bobsCopy(uid)!.ics, C)).toBe('DECLINED');
    // Bob's own answer and his copy's index are his: still not answered, still tentative time.
    expect(partstatOf(bobsCopy(uid)!.ics, B)).toBe('NEEDS-ACTION');
    expect(bobsCopy(uid)!.version).toBeGreaterThan(bobVersion);

    const roomCopy = await roomCopyId(uid);
    await rita.request('Resource/decide', { eventId: roomCopy, decision: 'accept' });
    await expect.poll(() => partstatOf(bobsCopy(uid)!.ics, ROOM)).toBe('ACCEPTED');
    // The room's copy took Carol's decline as well.
    const room = await db.selectFrom('calendar_events').select('ics').where('id', '=', roomCopy).executeTakeFirstOrThrow();
    expect(partstatOf(room.ics!, C)).toBe('DECLINED');

    // The revoke: the approver declines the accepted booking.
    await rita.request('Resource/decide', { eventId: roomCopy, decision: 'decline' });
    await expect.poll(() => partstatOf(bobsCopy(uid)!.ics, ROOM)).toBe('DECLINED');
    expect(partstatOf((await copyIn(carol, carolCal, uid)).ics, ROOM)).toBe('DECLINED');
    // What the replica holds is what the server holds.
    expect(bobsCopy(uid)!.ics).toBe((await copyIn(bob, bobCal.id, uid)).ics);
  });

  it('an occurrence answered alone reaches the others as a component in which each keeps their own answer', async () => {
    const uid = 'spread-series@spread.test';
    await invite(uid, { rrule: 'FREQ=WEEKLY;COUNT=4' });
    const bobsId = (await copyIn(bob, bobCal.id, uid)).id;
    await answerInvitation(bob, bobCal.id, bobsId, 'ACCEPTED');
    const carolsCopy = await copyIn(carol, carolCal, uid);
    await answerInvitation(carol, carolCal, carolsCopy.id, 'DECLINED', { recurrenceId: '20261221T090000Z' });

    await expect.poll(() => bobsCopy(uid) && partstatOf(bobsCopy(uid)!.ics, C, 1)).toBe('DECLINED');
    const ics = bobsCopy(uid)!.ics;
    expect(ics.match(/BEGIN:VEVENT/g)).toHaveLength(2);
    expect(ics).toContain('RECURRENCE-ID:20261221T090000Z');
    // Bob's own answer stands in the new component (he accepted the series); Carol's series answer is unchanged.
    expect(partstatOf(ics, B, 1)).toBe('ACCEPTED');
    expect(partstatOf(ics, C, 0)).toBe('NEEDS-ACTION');
    // Bob's index is unchanged by Carol's answer: all four occurrences busy for him.
    const rows = await db.selectFrom('event_instances').select(['busy_type', 'transparent']).where('event_id', '=', bobsId).execute();
    expect(rows).toHaveLength(4);
    expect(rows.every((r) => r.busy_type === 'BUSY' && !r.transparent)).toBe(true);
    // The organizer's copy says the same.
    const organizer = (await eventsOf(alice, aliceCal)).find((e) => e.uid === uid)!;
    expect(partstatOf(organizer.ics, C, 1)).toBe('DECLINED');
    expect(partstatOf(organizer.ics, B, 1)).toBe('ACCEPTED');
  });

  it('an attendee who declines by destroying their copy: the others’ copies say DECLINED', async () => {
    const uid = 'spread-destroy@spread.test';
    await invite(uid);
    const carolsCopy = await copyIn(carol, carolCal, uid);
    const result = await carol.request('CalendarEvent/set', { calendarId: carolCal, destroy: [carolsCopy.id] });
    expect(result.notDestroyed).toEqual({});
    await expect.poll(() => bobsCopy(uid) && partstatOf(bobsCopy(uid)!.ics, C)).toBe('DECLINED');
  });
});
