import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { answerInvitation } from '../../connector-sim/scheduling.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, meeting, partstatOf } from './helpers.ts';

/**
 * Delegates (issue 10 item 3): an assistant with a write+delegate grant sends
 * and answers meetings for their principal (SENT-BY), may choose copies of
 * the principal's scheduling messages, and never sees a private subject
 * without private access. A plain writer may not schedule for the owner.
 */
let server: TestServer;
let alice: DmciClient;
let sam: DmciClient;
let bob: DmciClient;
let dora: DmciClient;
let walt: DmciClient;
let aliceCal: string;
let bobCal: string;

const A = 'alice@dlg.test';
const S = 'sam@dlg.test';
const B = 'bob@dlg.test';
const DORA = 'dora@dlg.test';
const W = 'walt@dlg.test';

beforeAll(async () => {
  server = await startTestServer();
  for (const email of [A, S, B, DORA, W]) await server.createAccount(email);
  alice = await server.connect(A);
  sam = await server.connect(S);
  bob = await server.connect(B);
  dora = await server.connect(DORA);
  walt = await server.connect(W);
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  await alice.request('Calendar/set', { update: { [aliceCal]: { shareWith: { [S]: { right: 'write', delegate: true }, [W]: 'write' } } } });
  await bob.request('Calendar/set', { update: { [bobCal]: { shareWith: { [DORA]: { right: 'write', delegate: true } } } } });
});
afterAll(() => server.stop());

describe('delegates and scheduling', () => {
  it('a delegate sends a meeting for the owner: ORGANIZER is the owner, SENT-BY the delegate', async () => {
    const result = await sam.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'for-alice@dlg.test', organizer: A, attendees: [B] }) } } });
    const id = result.created.m!.id;
    expect(result.scheduled![id]).toEqual({ [B]: { delivery: 'delivered' } });
    const organizer = (await alice.request('CalendarEvent/get', { calendarId: aliceCal, ids: [id] })).list[0]!;
    expect(organizer.ics.replace(/\r\n[ \t]/g, '')).toMatch(/ORGANIZER;SENT-BY="?mailto:sam@dlg\.test"?:mailto:alice@dlg\.test/i);
    const copy = (await eventsOf(bob, bobCal)).find((e) => e.uid === 'for-alice@dlg.test');
    expect(copy).toBeDefined();
  });

  it('a writer who is not a delegate may not send for the owner', async () => {
    const result = await walt.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'walt@dlg.test', organizer: A, attendees: [B] }) } } });
    expect(result.notCreated.m).toMatchObject({ code: 'FORBIDDEN' });
    expect((await eventsOf(bob, bobCal)).find((e) => e.uid === 'walt@dlg.test')).toBeUndefined();
  });

  it('a delegate who chose copies gets the principal’s invitations in their own inbox, without private subjects', async () => {
    await expect(walt.request('Inbox/delegateCopies', { calendarId: bobCal, enabled: true })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(dora.request('Inbox/delegateCopies', { calendarId: bobCal, enabled: true })).resolves.toEqual({ calendarId: bobCal, enabled: true });
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'public@dlg.test', organizer: A, attendees: [B], summary: 'Budget' }) } } });
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'private@dlg.test', organizer: A, attendees: [B], summary: 'Reorg', extra: ['CLASS:PRIVATE'] }) } } });
    const mine = await inboxOf(dora);
    expect(mine.find((m) => m.uid === 'public@dlg.test')).toMatchObject({ kind: 'request', onBehalfOf: B, summary: 'Budget', calendarId: bobCal });
    expect(mine.find((m) => m.uid === 'private@dlg.test')).toMatchObject({ kind: 'request', onBehalfOf: B, summary: null });
    expect((await inboxOf(bob)).find((m) => m.uid === 'private@dlg.test')).toMatchObject({ summary: 'Reorg', onBehalfOf: null });
    // Messages from before the choice are not copied; turning it off stops the copies.
    expect(mine.find((m) => m.uid === 'for-alice@dlg.test')).toBeUndefined();
    await dora.request('Inbox/delegateCopies', { calendarId: bobCal, enabled: false });
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'later@dlg.test', organizer: A, attendees: [B] }) } } });
    expect((await inboxOf(dora)).find((m) => m.uid === 'later@dlg.test')).toBeUndefined();
  });

  it('a delegate answers for the principal; the organizer sees the answer with SENT-BY', async () => {
    const copy = (await eventsOf(dora, bobCal)).find((e) => e.uid === 'public@dlg.test')!;
    await answerInvitation(dora, bobCal, copy.id, 'ACCEPTED');
    const organizer = (await eventsOf(alice, aliceCal)).find((e) => e.uid === 'public@dlg.test')!;
    expect(partstatOf(organizer.ics, B)).toBe('ACCEPTED');
    expect(organizer.ics.replace(/\r\n[ \t]/g, '')).toMatch(/SENT-BY="?mailto:dora@dlg\.test"?[^\r\n]*mailto:bob@dlg\.test/i);
    // The private one: Dora has no private access, so she cannot even see it in full, let alone answer.
    const hidden = (await eventsOf(dora, bobCal)).find((e) => e.view !== 'full')!;
    await expect(answerInvitation(dora, bobCal, hidden.id, 'ACCEPTED')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
