import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, meeting, partstatOf, sequenceOf } from './helpers.ts';

/**
 * Races between answers and organizer changes (issue 10 item 2): an answer
 * names the SEQUENCE it answers and never lands on a newer significant
 * change; concurrent answers all land; an answer and a non-significant
 * change both land, in either order.
 */
let server: TestServer;
let alice: DmciClient;
let aliceCal: string;
const people: Array<{ email: string; client: DmciClient; calendarId: string }> = [];
const A = 'alice@race.test';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount(A);
  alice = await server.connect(A);
  aliceCal = await defaultCalendar(alice);
  for (let i = 0; i < 10; i++) {
    const email = `p${i}@race.test`;
    await server.createAccount(email);
    const client = await server.connect(email);
    people.push({ email, client, calendarId: await defaultCalendar(client) });
  }
});
afterAll(() => server.stop());

async function copyOf(person: (typeof people)[number], uid: string) {
  return (await eventsOf(person.client, person.calendarId)).find((e) => e.uid === uid)!;
}

async function organizerCopy(id: string) {
  return (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
}

describe('answers and changes at the same moment', () => {
  it('ten attendees answering at once: every answer lands in the organizer’s copy, and ten replies arrive', async () => {
    const uid = 'ten@race.test';
    const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid, organizer: A, attendees: people.map((p) => p.email) }) } } });
    const id = created.created.m!.id;
    const copies = await Promise.all(people.map((p) => copyOf(p, uid)));
    const answers = await Promise.all(
      people.map((p, i) => p.client.request('CalendarEvent/set', { calendarId: p.calendarId, reply: { [copies[i]!.id]: { partstat: i % 2 === 0 ? 'ACCEPTED' : 'TENTATIVE', sequence: 0 } } })),
    );
    expect(answers.every((a) => a.replied && Object.keys(a.replied).length === 1)).toBe(true);
    const organizer = await organizerCopy(id);
    people.forEach((p, i) => expect(partstatOf(organizer.ics, p.email)).toBe(i % 2 === 0 ? 'ACCEPTED' : 'TENTATIVE'));
    expect((await inboxOf(alice)).filter((m) => m.uid === uid && m.kind === 'reply')).toHaveLength(10);
  });

  it('an answer racing a significant change never survives it: either it lands first and is asked again, or it is refused as stale', async () => {
    const p = people[0]!;
    for (let round = 0; round < 8; round++) {
      const uid = `move${round}@race.test`;
      const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid, organizer: A, attendees: [p.email] }) } } });
      const id = created.created.m!.id;
      const copy = await copyOf(p, uid);
      const [answer, move] = await Promise.all([
        p.client.request('CalendarEvent/set', { calendarId: p.calendarId, reply: { [copy.id]: { partstat: 'ACCEPTED', sequence: sequenceOf(copy.ics) } } }),
        alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: meeting({ uid, organizer: A, attendees: [p.email], start: '2026-12-01T15:00:00Z' }) } } }),
      ]);
      expect(move.updated[id]).toBeDefined();
      const organizer = await organizerCopy(id);
      // The move always lands; the answer was to SEQUENCE 0, so it never stands on SEQUENCE 1.
      expect(organizer.ics).toContain('DTSTART:20261201T150000Z');
      expect(sequenceOf(organizer.ics)).toBe(1);
      expect(partstatOf(organizer.ics, p.email)).toBe('NEEDS-ACTION');
      if (answer.notReplied?.[copy.id]) expect(answer.notReplied[copy.id]).toMatchObject({ code: 'STALE_ANSWER' });
      else expect(answer.replied?.[copy.id]).toBeDefined();
    }
  });

  it('an answer racing a non-significant change: both land, in either order', async () => {
    const p = people[1]!;
    for (let round = 0; round < 8; round++) {
      const uid = `desc${round}@race.test`;
      const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid, organizer: A, attendees: [p.email] }) } } });
      const id = created.created.m!.id;
      const copy = await copyOf(p, uid);
      const [answer, change] = await Promise.all([
        p.client.request('CalendarEvent/set', { calendarId: p.calendarId, reply: { [copy.id]: { partstat: 'ACCEPTED', sequence: 0 } } }),
        alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: meeting({ uid, organizer: A, attendees: [p.email], description: `round ${round}` }) } } }),
      ]);
      expect(answer.replied?.[copy.id]).toBeDefined();
      expect(change.updated[id]).toBeDefined();
      const organizer = await organizerCopy(id);
      expect(organizer.ics).toContain(`round ${round}`);
      expect(partstatOf(organizer.ics, p.email)).toBe('ACCEPTED');
      const mine = await copyOf(p, uid);
      expect(mine.ics).toContain(`round ${round}`);
      expect(partstatOf(mine.ics, p.email)).toBe('ACCEPTED');
    }
  });
});
