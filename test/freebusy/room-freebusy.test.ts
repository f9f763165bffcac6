import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, meeting } from '../scheduling/helpers.ts';

/**
 * A room's free/busy is its own calendar (issue 10's resource calendars):
 * a booking accepted through an invitation shows as busy time of the room,
 * at the level the room's domain gives its members (`time`: periods only,
 * never the subject), and a free hour stays free.
 */
let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let bob: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@fbrooms.test', undefined, 'domain_admin');
  await server.createAccount('alice@fbrooms.test');
  await server.createAccount('bob@fbrooms.test');
  admin = await server.connect('admin@fbrooms.test');
  alice = await server.connect('alice@fbrooms.test');
  bob = await server.connect('bob@fbrooms.test');
  await admin.request('Admin/directoryCreate', { domain: 'fbrooms.test', kind: 'resource', fields: { displayName: 'Harbour', email: 'harbour@fbrooms.test', resourceType: 'room' } });
});
afterAll(() => server.stop());

it("answers a room's bookings as its busy time, without the subject", async () => {
  const start = new Date(Date.now() + 2 * 86_400_000);
  start.setUTCHours(10, 0, 0, 0);
  const ics = meeting({ uid: 'harbour-booking@fbrooms.test', organizer: 'alice@fbrooms.test', start: start.toISOString(), minutes: 60, summary: 'Secret merger', attendees: [{ email: 'harbour@fbrooms.test', cutype: 'ROOM' }] });
  const booked = await alice.request('CalendarEvent/set', { calendarId: await defaultCalendar(alice), create: { m: { ics } } });
  expect(booked.notCreated).toEqual({});

  const from = new Date(start.getTime() - 3_600_000);
  const answer = await bob.freeBusy({ principals: ['harbour@fbrooms.test'], from: from.toISOString(), to: new Date(start.getTime() + 3 * 3_600_000).toISOString(), interval: 60 });
  const room = answer.principals[0]!;
  expect(room.status).toBe('ok');
  expect(room.periods.map((p) => [new Date(p.start).getTime(), new Date(p.end).getTime(), p.busyType])).toEqual([[start.getTime(), start.getTime() + 3_600_000, 'BUSY']]);
  // Hour by hour from an hour before: free, busy, free, free.
  expect(room.slots).toBe('0200');
  expect(JSON.stringify(answer)).not.toContain('Secret merger');
});
