import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { bookRoom, defaultCalendar, inboxOf } from './helpers.ts';

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
    const nine = { start: '2026-12-15T09:00:00.000Z', end: '2026-12-15T10:00:00.000Z' };
    const one = { start: '2026-12-15T13:00:00.000Z', end: '2026-12-15T14:00:00.000Z' };
    expect(declined.outcome).toMatchObject({ partstat: 'DECLINED', reason: 'conflict', freeNext: one, freeEarlier: nine });
    // Half an hour fits the gap; the latest free half hour before 10:45 is 9:30.
    const short = await bookRoom(dave, daveCal, D, ROOM, { start: '2026-12-15T10:45:00Z', minutes: 30 });
    expect(short.outcome).toMatchObject({ partstat: 'DECLINED', freeNext: { start: '2026-12-15T11:30:00.000Z', end: '2026-12-15T12:00:00.000Z' }, freeEarlier: { start: '2026-12-15T09:30:00.000Z', end: '2026-12-15T10:00:00.000Z' } });

    // Dave's inbox has the room's decline too, with the same slots (a connector that did not show the set result learns it there).
    const replies = (await inboxOf(dave)).filter((m) => m.kind === 'reply' && m.uid === declined.uid);
    expect(replies).toMatchObject([{ from: ROOM, partstat: 'DECLINED', eventId: declined.id, calendarId: daveCal, freeNext: one, freeEarlier: nine }]);
    // An accepting room sends none (its answer is in the set result, and the copy says it).
    expect((await inboxOf(alice)).filter((m) => m.kind === 'reply')).toEqual([]);
  });

  it('offers no earlier slot that would start in the past', async () => {
    const soon = new Date(Date.now() + 3_600_000);
    soon.setUTCMinutes(0, 0, 0);
    const at = (hours: number) => new Date(soon.getTime() + hours * 3_600_000).toISOString();
    expect((await bookRoom(alice, aliceCal, A, ROOM, { start: at(0), minutes: 120 })).outcome.partstat).toBe('ACCEPTED');
    // 1 hour from the booking's second hour: the hour before it is (at least partly) past.
    const declined = await bookRoom(dave, daveCal, D, ROOM, { start: at(1), minutes: 60 });
    expect(declined.outcome).toMatchObject({ partstat: 'DECLINED', freeNext: { start: at(2) } });
    expect(declined.outcome.freeEarlier).toBeUndefined();
    expect((await inboxOf(dave)).find((m) => m.uid === declined.uid)).toMatchObject({ freeNext: { start: at(2) }, freeEarlier: null });
  });
});
