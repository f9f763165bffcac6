import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { bookRoom, defaultCalendar } from './helpers.ts';

/**
 * "Free next" (issue 10): a room declining for a conflict says when it is
 * next free for as long, searching SchedulingLimits.freeNextSearchDays on.
 */
let server: TestServer;
let alice: DmciClient;
let dave: DmciClient;
let aliceCal: string;
let daveCal: string;
const A = 'alice@free.test';
const D = 'dave@free.test';
const ROOM = 'quay@free.test';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@free.test', undefined, 'domain_admin');
  await server.createAccount(A);
  await server.createAccount(D);
  const admin = await server.connect('admin@free.test');
  alice = await server.connect(A);
  dave = await server.connect(D);
  aliceCal = await defaultCalendar(alice);
  daveCal = await defaultCalendar(dave);
  await admin.request('Admin/directoryCreate', { domain: 'free.test', kind: 'resource', fields: { displayName: 'Quay', email: ROOM, resourceType: 'room' } });
});
afterAll(() => server.stop());

describe('a room declining for a conflict', () => {
  it('names the next free slot of the same length: past back-to-back bookings, skipping a gap too short', async () => {
    // Booked 10–11, 11–11:30, 12–13: an hour is next free at 13:00 (11:30–12 is too short).
    for (const [start, minutes] of [['2026-12-15T10:00:00Z', 60], ['2026-12-15T11:00:00Z', 30], ['2026-12-15T12:00:00Z', 60]] as const) {
      expect((await bookRoom(alice, aliceCal, A, ROOM, { start, minutes })).outcome.partstat).toBe('ACCEPTED');
    }
    const declined = await bookRoom(dave, daveCal, D, ROOM, { start: '2026-12-15T10:30:00Z', minutes: 60 });
    expect(declined.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict', freeNext: { start: '2026-12-15T13:00:00.000Z', end: '2026-12-15T14:00:00.000Z' } });
    // Half an hour fits the gap.
    const short = await bookRoom(dave, daveCal, D, ROOM, { start: '2026-12-15T10:45:00Z', minutes: 30 });
    expect(short.outcome).toMatchObject({ partstat: 'DECLINED', freeNext: { start: '2026-12-15T11:30:00.000Z', end: '2026-12-15T12:00:00.000Z' } });
  });
});
