import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { calendarEventsSource } from '../../connector-sim/calendar-sources.ts';
import { Replica } from '../../connector-sim/replica.ts';
import type { Calendar, CalendarEvent } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, meetLate, partstatOf } from './helpers.ts';

/**
 * The room's late answer as a node runs it on its own (issue 10, session 7):
 * the job's timer (DMCI_ROOM_SKIP_POLL_MS, short here) answers the skipped
 * occurrence, and an attendee's connector sees the room DECLINED for it by
 * push. far-bookings.test.ts drives the same job by hand and checks each copy.
 */
let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let dave: DmciClient;
let aliceCal: Calendar;
let daveCal: string;
let replica: Replica;
const A = 'alice@late.test';
const D = 'dave@late.test';
const ROOM = 'bay@late.test';

beforeAll(async () => {
  server = await startTestServer({ DMCI_ROOM_SKIP_POLL_MS: '200' });
  await server.createAccount('admin@late.test', undefined, 'domain_admin');
  await server.createAccount(A);
  await server.createAccount(D);
  admin = await server.connect('admin@late.test');
  alice = await server.connect(A);
  dave = await server.connect(D);
  aliceCal = (await alice.request('Calendar/get', {})).list.find((c) => c.isDefault)!;
  daveCal = await defaultCalendar(dave);
  await admin.request('Admin/directoryCreate', { domain: 'late.test', kind: 'resource', fields: { displayName: 'Bay', email: ROOM, resourceType: 'room' } });
  await admin.request('Admin/resourceSetPolicy', { email: ROOM, policy: { unboundedSeries: true } });
  replica = new Replica(alice);
  await replica.track(calendarEventsSource(aliceCal));
});
afterAll(async () => {
  replica.detach();
  await server.stop();
});

describe('a room answering late on its own', () => {
  it('the job answers the skipped occurrence, and the attendee’s connector gets it by push', async () => {
    const { yearly } = await meetLate({ admin, alice, dave, aliceCal: aliceCal.id, daveCal, A, D }, ROOM);
    const alicesCopy = () => Object.values(replica.objectsOf<CalendarEvent>(aliceCal.scope)).find((e) => e.uid === yearly.uid);
    await expect.poll(() => alicesCopy() && partstatOf(alicesCopy()!.ics, ROOM, 1), { timeout: 20_000 }).toBe('DECLINED');
    expect(alicesCopy()!.ics.replace(/\r\n[ \t]/g, '')).toContain('RECURRENCE-ID:20291204T100000Z');
    expect(partstatOf(alicesCopy()!.ics, ROOM, 0)).toBe('ACCEPTED');
  });
});
