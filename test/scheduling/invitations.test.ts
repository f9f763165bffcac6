import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { answerInvitation, InboxReplica } from '../../connector-sim/scheduling.ts';
import type { InboxMessage } from '../../protocol/index.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, meeting, partstatOf, sequenceOf } from './helpers.ts';

/**
 * Implicit scheduling between people on the server (issue 10 item 1), end to
 * end through connector-sim: Alice invites Bob and Carol; copies, inbox
 * messages, answers, changes significant or not, cancellations, the
 * SCHEDULE-AGENT parameter, and bad input that writes nothing.
 */
let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
let db: Db;
let aliceCal: string;
let bobCal: string;
let carolCal: string;

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['alice', 'bob', 'carol']) await server.createAccount(`${name}@sched.test`);
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

const A = 'alice@sched.test';
const B = 'bob@sched.test';
const C = 'carol@sched.test';

async function invite(ics: string) {
  const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics } } });
  expect(result.notCreated).toEqual({});
  return { id: result.created.m!.id, result };
}

async function copyIn(client: DmciClient, calendarId: string, uid: string) {
  return (await eventsOf(client, calendarId)).find((e) => e.uid === uid);
}

async function organizerCopy(id: string) {
  return (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
}

describe('an invitation', () => {
  it('puts a copy in each internal attendee’s default calendar and a request in their inbox, pushed', async () => {
    // Bob's connector follows his inbox as connector-sim does: a full sync, then pushes.
    const inbox = new InboxReplica(bob);
    await inbox.start();
    const arrived: InboxMessage[] = [];
    inbox.onMessage((m) => arrived.push(m));

    const ics = meeting({ uid: 'first@sched.test', organizer: A, attendees: [{ email: A, partstat: 'ACCEPTED' }, B, C, 'someone@elsewhere.test'] });
    const { id, result } = await invite(ics);
    expect(result.scheduled![id]).toEqual({ [B]: { delivery: 'delivered' }, [C]: { delivery: 'delivered' }, 'someone@elsewhere.test': { delivery: 'external' } });

    const copy = await copyIn(bob, bobCal, 'first@sched.test');
    expect(copy).toBeDefined();
    expect(partstatOf(copy!.ics, B)).toBe('NEEDS-ACTION');
    expect(partstatOf(copy!.ics, A)).toBe('ACCEPTED');
    expect(await copyIn(carol, carolCal, 'first@sched.test')).toBeDefined();

    const messages = await inboxOf(bob);
    expect(messages).toMatchObject([{ kind: 'request', uid: 'first@sched.test', from: A, calendarId: bobCal, eventId: copy!.id, sequence: 0, summary: 'Planning' }]);
    await expect.poll(() => arrived.length).toBe(1);
    expect(arrived).toMatchObject([{ kind: 'request', eventId: copy!.id }]);
    expect(inbox.state).toBe((await bob.request('Inbox/get', {})).state);
    inbox.stop();

    // An unanswered invitation counts as tentative in the attendee's index (Outlook shows it so).
    const instances = await bob.request('CalendarEvent/query', { calendarIds: [bobCal], from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' });
    expect(instances.instances.find((i) => i.eventId === copy!.id)?.busyType).toBe('BUSY-TENTATIVE');
  });

  it('an attendee answers by changing their PARTSTAT; the organizer’s copy follows and the organizer gets a reply', async () => {
    const copy = (await copyIn(bob, bobCal, 'first@sched.test'))!;
    const accepted = copy.ics.replace(`PARTSTAT=NEEDS-ACTION:mailto:${B}`, `PARTSTAT=ACCEPTED:mailto:${B}`);
    expect(accepted).not.toBe(copy.ics);
    const answer = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: accepted, ifVersion: copy.version } } });
    expect(answer.notUpdated).toEqual({});

    const organizer = (await copyIn(alice, aliceCal, 'first@sched.test'))!;
    expect(partstatOf(organizer.ics, B)).toBe('ACCEPTED');
    expect(partstatOf(organizer.ics, C)).toBe('NEEDS-ACTION');
    expect((await inboxOf(alice)).filter((m) => m.kind === 'reply')).toMatchObject([{ from: B, partstat: 'ACCEPTED', eventId: organizer.id, recurrenceId: null }]);
    const instances = await bob.request('CalendarEvent/query', { calendarIds: [bobCal], from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' });
    expect(instances.instances.find((i) => i.eventId === copy.id)?.busyType).toBe('BUSY');
  });

  it('a non-significant change keeps the answers and SEQUENCE; the attendees get an update', async () => {
    const organizer = (await copyIn(alice, aliceCal, 'first@sched.test'))!;
    // The organizer's client still holds an old PARTSTAT for Bob: the server keeps the one it knows.
    const changed = meeting({ uid: 'first@sched.test', organizer: A, attendees: [{ email: A, partstat: 'ACCEPTED' }, B, C, 'someone@elsewhere.test'], description: 'Agenda attached' });
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [organizer.id]: { ics: changed } } });
    expect(result.scheduled![organizer.id]![B]).toEqual({ delivery: 'delivered' });
    const after = await organizerCopy(organizer.id);
    expect(partstatOf(after.ics, B)).toBe('ACCEPTED');
    expect(sequenceOf(after.ics)).toBe(0);
    const copy = (await copyIn(bob, bobCal, 'first@sched.test'))!;
    expect(copy.ics).toContain('Agenda attached');
    expect(partstatOf(copy.ics, B)).toBe('ACCEPTED');
    expect((await inboxOf(bob)).map((m) => m.kind)).toEqual(expect.arrayContaining(['request', 'update']));
  });

  it('moving it is significant: SEQUENCE rises and everyone is asked again', async () => {
    const organizer = (await copyIn(alice, aliceCal, 'first@sched.test'))!;
    const moved = meeting({ uid: 'first@sched.test', organizer: A, attendees: [{ email: A, partstat: 'ACCEPTED' }, { email: B, partstat: 'ACCEPTED' }, C], start: '2026-12-01T11:00:00Z' });
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [organizer.id]: { ics: moved } } });
    const after = await organizerCopy(organizer.id);
    expect(sequenceOf(after.ics)).toBe(1);
    expect(partstatOf(after.ics, B)).toBe('NEEDS-ACTION');
    expect(partstatOf(after.ics, A)).toBe('ACCEPTED');
    const copy = (await copyIn(bob, bobCal, 'first@sched.test'))!;
    expect(copy.ics).toContain('DTSTART:20261201T110000Z');
    expect(partstatOf(copy.ics, B)).toBe('NEEDS-ACTION');
    expect(sequenceOf(copy.ics)).toBe(1);
  });

  it('refuses an answer to an older SEQUENCE (STALE_ANSWER) and an attendee changing the time (ORGANIZER_OWNED)', async () => {
    const copy = (await copyIn(bob, bobCal, 'first@sched.test'))!;
    const stale = copy.ics.replace('SEQUENCE:1', 'SEQUENCE:0').replace(`PARTSTAT=NEEDS-ACTION:mailto:${B}`, `PARTSTAT=ACCEPTED:mailto:${B}`);
    const refused = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: stale } } });
    expect(refused.notUpdated[copy.id]).toMatchObject({ code: 'STALE_ANSWER', details: { currentSequence: 1 } });
    const moved = copy.ics.replace('DTSTART:20261201T110000Z', 'DTSTART:20261201T103000Z');
    const owned = await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [copy.id]: { ics: moved } } });
    expect(owned.notUpdated[copy.id]).toMatchObject({ code: 'ORGANIZER_OWNED' });
    const staleReply = await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'ACCEPTED', sequence: 0 } } });
    expect(staleReply.notReplied![copy.id]).toMatchObject({ code: 'STALE_ANSWER' });
    // Nothing of it landed.
    expect(partstatOf((await copyIn(alice, aliceCal, 'first@sched.test'))!.ics, B)).toBe('NEEDS-ACTION');
  });

  it('the reply shortcut answers without rewriting the copy; a reply to a missing event is NOT_FOUND', async () => {
    const copy = (await copyIn(carol, carolCal, 'first@sched.test'))!;
    expect(await answerInvitation(carol, carolCal, copy.id, 'DECLINED', { sequence: 1 })).toBeGreaterThan(copy.version);
    await expect(answerInvitation(carol, carolCal, '00000000-0000-4000-8000-000000000001', 'ACCEPTED')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(partstatOf((await copyIn(alice, aliceCal, 'first@sched.test'))!.ics, C)).toBe('DECLINED');
    expect(partstatOf((await copyIn(carol, carolCal, 'first@sched.test'))!.ics, C)).toBe('DECLINED');
    const instances = await carol.request('CalendarEvent/query', { calendarIds: [carolCal], from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z' });
    expect(instances.instances.find((i) => i.eventId === copy.id)?.busyType).toBe('FREE');
  });

  it('removing an attendee cancels their copy; destroying the event cancels everyone’s', async () => {
    const organizer = (await copyIn(alice, aliceCal, 'first@sched.test'))!;
    const without = meeting({ uid: 'first@sched.test', organizer: A, attendees: [{ email: A, partstat: 'ACCEPTED' }, B], start: '2026-12-01T11:00:00Z', sequence: 1 });
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [organizer.id]: { ics: without } } });
    expect(result.scheduled![organizer.id]![C]).toEqual({ delivery: 'cancelled' });
    expect(await copyIn(carol, carolCal, 'first@sched.test')).toBeUndefined();
    expect((await inboxOf(carol)).filter((m) => m.kind === 'cancel')).toMatchObject([{ uid: 'first@sched.test', eventId: null, from: A }]);
    expect(await copyIn(bob, bobCal, 'first@sched.test')).toBeDefined();

    const destroyed = await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [organizer.id] });
    expect(destroyed.scheduled![organizer.id]).toEqual({ [B]: { delivery: 'cancelled' } });
    expect(await copyIn(bob, bobCal, 'first@sched.test')).toBeUndefined();
    expect((await inboxOf(bob)).filter((m) => m.kind === 'cancel')).toMatchObject([{ uid: 'first@sched.test', sequence: 2 }]);
  });

  it('an attendee destroying their copy declines', async () => {
    const { id } = await invite(meeting({ uid: 'gone@sched.test', organizer: A, attendees: [B] }));
    const copy = (await copyIn(bob, bobCal, 'gone@sched.test'))!;
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, destroy: [copy.id] });
    expect(result.destroyed).toEqual([copy.id]);
    expect(partstatOf((await organizerCopy(id)).ics, B)).toBe('DECLINED');
  });

  it('SCHEDULE-AGENT=CLIENT and NONE: dmci writes no copy for those attendees', async () => {
    const { id, result } = await invite(meeting({ uid: 'agents@sched.test', organizer: A, attendees: [{ email: B, agent: 'CLIENT' }, { email: C, agent: 'NONE' }] }));
    expect(result.scheduled![id]).toEqual({ [B]: { delivery: 'client' }, [C]: { delivery: 'none' } });
    const mixed = await invite(meeting({ uid: 'agents2@sched.test', organizer: A, attendees: [{ email: B, agent: 'CLIENT' }, C] }));
    expect(mixed.result.scheduled![mixed.id]).toEqual({ [B]: { delivery: 'client' }, [C]: { delivery: 'delivered' } });
    expect(await copyIn(bob, bobCal, 'agents@sched.test')).toBeUndefined();
    expect(await copyIn(bob, bobCal, 'agents2@sched.test')).toBeUndefined();
    expect(await copyIn(carol, carolCal, 'agents@sched.test')).toBeUndefined();
    expect(await copyIn(carol, carolCal, 'agents2@sched.test')).toBeDefined();
  });

  it('one occurrence of a series can be answered alone; the organizer’s copy records it', async () => {
    const { id } = await invite(meeting({ uid: 'weekly@sched.test', organizer: A, attendees: [B], rrule: 'FREQ=WEEKLY;COUNT=4', start: '2026-12-03T09:00:00Z' }));
    const copy = (await copyIn(bob, bobCal, 'weekly@sched.test'))!;
    await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'ACCEPTED' } } });
    const { instances } = await bob.request('CalendarEvent/query', { calendarIds: [bobCal], from: '2026-12-10T00:00:00Z', to: '2026-12-11T00:00:00Z' });
    const thursday = instances.find((i) => i.eventId === copy.id)!;
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'DECLINED', recurrenceId: thursday.recurrenceId } } });
    expect(result.notReplied ?? {}).toEqual({});
    const organizer = await organizerCopy(id);
    expect(partstatOf(organizer.ics, B, 0)).toBe('ACCEPTED');
    expect(partstatOf(organizer.ics, B, 1)).toBe('DECLINED');
    expect(organizer.ics).toContain('RECURRENCE-ID:20261210T090000Z');
    expect((await inboxOf(alice)).filter((m) => m.uid === 'weekly@sched.test' && m.recurrenceId !== null)).toMatchObject([{ kind: 'reply', from: B, partstat: 'DECLINED', recurrenceId: '20261210T090000Z' }]);
    const bobs = await bob.request('CalendarEvent/query', { calendarIds: [bobCal], from: '2026-12-01T00:00:00Z', to: '2026-12-31T00:00:00Z' });
    expect(bobs.instances.filter((i) => i.eventId === copy.id).map((i) => i.busyType)).toEqual(['BUSY', 'FREE', 'BUSY', 'BUSY']);
  });
});

describe('bad input writes nothing', () => {
  const count = async (uid: string) => Number((await db.selectFrom('calendar_events').select((eb) => eb.fn.countAll().as('n')).where('uid', '=', uid).executeTakeFirstOrThrow()).n);

  it('an ATTENDEE that is not a mailto: URI', async () => {
    const ics = meeting({ uid: 'bad1@sched.test', organizer: A, attendees: [B, { email: 'x', raw: 'ATTENDEE;PARTSTAT=NEEDS-ACTION:urn:uuid:1234' }] });
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics } } });
    expect(result.notCreated.m).toMatchObject({ code: 'INVALID_ICALENDAR', details: { attendee: 'urn:uuid:1234' } });
    expect(await count('bad1@sched.test')).toBe(0);
  });

  it('an organizer who is not the calendar’s owner', async () => {
    const ics = meeting({ uid: 'bad2@sched.test', organizer: A, attendees: [C] });
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics } } });
    expect(result.notCreated.m).toMatchObject({ code: 'FORBIDDEN' });
    expect(await count('bad2@sched.test')).toBe(0);
  });

  it('more attendees than the documented cap', async () => {
    const many = Array.from({ length: 1001 }, (_, i) => `p${i}@elsewhere.test`);
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'bad3@sched.test', organizer: A, attendees: many }) } } });
    expect(result.notCreated.m).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: 1000 } });
    expect(await count('bad3@sched.test')).toBe(0);
  });

  it('an event with an external organizer is stored as it is, scheduling nothing', async () => {
    const ics = meeting({ uid: 'ext@sched.test', organizer: 'boss@elsewhere.test', attendees: [B, C] });
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics } } });
    expect(result.notCreated).toEqual({});
    expect(result.scheduled).toBeUndefined();
    expect(await count('ext@sched.test')).toBe(1);
  });
});

