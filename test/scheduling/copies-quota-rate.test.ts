import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, meeting } from './helpers.ts';

/**
 * Issue 10, session 4: attendees' copies count toward the attendee's storage
 * quota (never refused for it: an organizer's write does not fail because of
 * someone else's quota, the outcome says `overQuota`), and the per-organizer
 * invitation rate limit (RATE_LIMITED with retryAfterMs, nothing written).
 */
let server: TestServer;
let db: Db;
let admin: DmciClient;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
let aliceCal: string;
let bobCal: string;
let carolCal: string;
const A = 'alice@quota-sched.test';
const B = 'bob@quota-sched.test';
const C = 'carol@quota-sched.test';
/** Small enough that a test exhausts it, large enough for the quota tests' few invitations. */
const COPIES_PER_MINUTE = 12;

beforeAll(async () => {
  server = await startTestServer({ DMCI_INVITATION_COPIES_PER_MINUTE: String(COPIES_PER_MINUTE) });
  await server.createAccount('admin@root.example', undefined, 'global_admin');
  for (const email of [A, B, C]) await server.createAccount(email);
  admin = await server.connect('admin@root.example');
  alice = await server.connect(A);
  bob = await server.connect(B);
  carol = await server.connect(C);
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  carolCal = await defaultCalendar(carol);
  db = openTestDb(server.databaseUrl);
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

const used = async (email: string) => (await admin.request('Admin/accountStorage', { email })).storage.usedBytes;
/** What the account's calendars really hold: the ledger must always equal it. */
async function held(client: DmciClient, calendarId: string): Promise<number> {
  return (await eventsOf(client, calendarId)).reduce((sum, e) => sum + Buffer.byteLength(e.ics!, 'utf8'), 0);
}

describe('copies and the attendee’s storage quota', () => {
  it('a copy counts toward its attendee as it is written, answered and cancelled', async () => {
    expect(await used(B)).toBe(0);
    const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ organizer: A, attendees: [A, B] }) } } });
    const id = created.created.m!.id;
    const afterInvite = await used(B);
    expect(afterInvite).toBeGreaterThan(0);
    expect(afterInvite).toBe(await held(bob, bobCal));

    const copy = (await eventsOf(bob, bobCal))[0]!;
    await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'ACCEPTED' } } });
    expect(await used(B)).toBe(await held(bob, bobCal));
    expect(await used(B)).not.toBe(afterInvite);

    await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [id] });
    expect(await held(bob, bobCal)).toBe(0);
    expect(await used(B)).toBe(0);
  });

  it('an attendee over quota still gets the copy; the organizer’s outcome says so; their own writes are refused', async () => {
    await admin.request('Admin/accountSetQuota', { email: C, quotaBytes: 100 });
    const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ organizer: A, attendees: [A, B, C] }) } } });
    expect(created.notCreated).toEqual({});
    const outcomes = created.scheduled![created.created.m!.id]!;
    expect(outcomes[C]).toEqual({ delivery: 'delivered', overQuota: true });
    expect(outcomes[B]).toEqual({ delivery: 'delivered' });
    expect((await eventsOf(carol, carolCal)).map((e) => e.uid)).toEqual([created.created.m!.uid]);
    expect(await used(C)).toBe(await held(carol, carolCal));

    const own = await carol.request('CalendarEvent/set', { calendarId: carolCal, create: { x: { ics: meeting({ organizer: C, attendees: [] }) } } });
    expect(own.notCreated.x?.code).toBe('LIMIT_EXCEEDED');
    // Answering is never refused for the quota: it is part of someone else's meeting.
    const copy = (await eventsOf(carol, carolCal))[0]!;
    const answered = await carol.request('CalendarEvent/set', { calendarId: carolCal, reply: { [copy.id]: { partstat: 'DECLINED' } } });
    expect(answered.notReplied ?? {}).toEqual({});
    expect(await used(C)).toBe(await held(carol, carolCal));
  });
});

describe('the per-organizer invitation rate limit', () => {
  it('refuses an invitation over the organizer’s budget with RATE_LIMITED and retryAfterMs, writing nothing of it', async () => {
    await server.createAccount('dave@quota-sched.test');
    await server.createAccount('erin@quota-sched.test');
    await server.createAccount('fay@quota-sched.test');
    const dave = await server.connect('dave@quota-sched.test');
    const erin = await server.connect('erin@quota-sched.test');
    const daveCal = await defaultCalendar(dave);
    const erinCal = await defaultCalendar(erin);
    const invited = ['erin@quota-sched.test', 'fay@quota-sched.test', B, C];
    const send = (uid: string) => dave.request('CalendarEvent/set', { calendarId: daveCal, create: { m: { ics: meeting({ uid, organizer: 'dave@quota-sched.test', attendees: invited }) } } });
    // 12 copies a minute: three invitations of four attendees pass, the fourth does not.
    for (const i of [1, 2, 3]) expect((await send(`rate-${i}@quota-sched.test`)).notCreated).toEqual({});
    const refused = await send('rate-4@quota-sched.test');
    expect(refused.created).toEqual({});
    expect(refused.notCreated.m).toMatchObject({ code: 'RATE_LIMITED', details: { limit: COPIES_PER_MINUTE, copies: 4 } });
    const retryAfterMs = (refused.notCreated.m!.details as { retryAfterMs: number }).retryAfterMs;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect((await eventsOf(erin, erinCal)).map((e) => e.uid)).not.toContain('rate-4@quota-sched.test');
    expect((await eventsOf(dave, daveCal)).map((e) => e.uid)).not.toContain('rate-4@quota-sched.test');

    // An update messages everyone again, so it draws on the same budget; an event without attendees does not.
    const [first] = (await eventsOf(dave, daveCal)).filter((e) => e.uid === 'rate-1@quota-sched.test');
    const moved = await dave.request('CalendarEvent/set', {
      calendarId: daveCal,
      update: { [first!.id]: { ics: meeting({ uid: 'rate-1@quota-sched.test', organizer: 'dave@quota-sched.test', attendees: invited, start: '2026-12-02T10:00:00Z' }) } },
    });
    expect(moved.notUpdated[first!.id]?.code).toBe('RATE_LIMITED');
    const plain = await dave.request('CalendarEvent/set', { calendarId: daveCal, create: { p: { ics: meeting({ organizer: 'dave@quota-sched.test', attendees: [] }) } } });
    expect(plain.notCreated).toEqual({});
    // The budget is the organizer's: others invite as before.
    expect((await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ organizer: A, attendees: [A, 'erin@quota-sched.test'] }) } } })).notCreated).toEqual({});
  });
});
