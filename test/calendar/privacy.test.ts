import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { PushFrame } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, sample, simpleEvent } from './helpers.ts';

/**
 * DESIGN §6: CLASS:PRIVATE shows only its time to anyone but the owner and
 * delegates with private access — on every path: get, changes, query, push.
 */

let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
let calendarId: string;
let privateId: string;
let publicId: string;

const SECRETS = ["Doctor's appointment", 'Doctor', 'Clinic', 'private-tentative-1@samples.dmci'];

function expectNoSecrets(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of SECRETS) expect(text).not.toContain(secret);
}

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  await server.createAccount('carol@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  carol = await server.connect('carol@example.com');
  calendarId = await defaultCalendarId(alice);
  await alice.request('Calendar/set', {
    update: { [calendarId]: { shareWith: { 'bob@example.com': 'read', 'carol@example.com': { right: 'write', delegate: true, privateAccess: true } } } },
  });
  const set = await alice.request('CalendarEvent/set', {
    calendarId,
    create: { p: { ics: sample('private-tentative-kolkata.ics') }, q: { ics: simpleEvent({ uid: 'public@test', summary: 'Public planning', start: '2026-12-10T12:00:00Z' }) } },
  });
  privateId = set.created.p!.id;
  publicId = set.created.q!.id;
});
afterAll(() => server.stop());

describe('a reader of a shared calendar', () => {
  it('gets the private event as time only, with a redacted VCALENDAR and an opaque UID', async () => {
    const got = await bob.request('CalendarEvent/get', { calendarId, ids: [privateId, publicId] });
    const priv = got.list.find((e) => e.id === privateId)!;
    expect(priv.view).toBe('time');
    expect(priv.uid).not.toBe('private-tentative-1@samples.dmci');
    expect(priv.ics).toContain('DTSTART;TZID=Asia/Kolkata:20261210T143000');
    expect(priv.ics).toContain('STATUS:TENTATIVE');
    expect(priv.ics).not.toMatch(/SUMMARY|LOCATION|DESCRIPTION|ATTENDEE|ORGANIZER|VALARM/);
    expectNoSecrets(priv);
    const pub = got.list.find((e) => e.id === publicId)!;
    expect(pub).toMatchObject({ view: 'full', uid: 'public@test' });
    expect(pub.ics).toContain('SUMMARY:Public planning');
  });

  it('sees it as time only in CalendarEvent/changes', async () => {
    const changes = await bob.request('CalendarEvent/changes', { calendarId });
    expect(changes.created.map((e) => e.id).sort()).toEqual([privateId, publicId].sort());
    expect(changes.created.find((e) => e.id === privateId)!.view).toBe('time');
    expectNoSecrets(changes);
  });

  it('sees it as time only in CalendarEvent/query, with its busy type', async () => {
    const { instances } = await bob.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-10T00:00:00Z', to: '2026-12-11T00:00:00Z' });
    const priv = instances.find((i) => i.eventId === privateId)!;
    expect(priv).toMatchObject({ view: 'time', start: '2026-12-10T09:00:00.000Z', end: '2026-12-10T09:45:00.000Z', busyType: 'BUSY-TENTATIVE', summary: null, location: null });
    expect(instances.find((i) => i.eventId === publicId)).toMatchObject({ view: 'full', summary: 'Public planning' });
    expectNoSecrets(instances);
  });

  it('gets pushes that are redacted too', async () => {
    const { state } = (await bob.request('Push/subscribe', { scopes: [{ scope: `cal:${calendarId}` }] })).subscribed[0]!;
    const received = new Promise<PushFrame>((resolve) => bob.once('push', resolve));
    const update = sample('private-tentative-kolkata.ics').replace('LOCATION:Clinic', 'LOCATION:Clinic, room 2');
    await alice.request('CalendarEvent/set', { calendarId, update: { [privateId]: { ics: update } } });
    const push = await received;
    expect(push).toMatchObject({ scope: `cal:${calendarId}`, oldState: state });
    const changes = push.changes as { updated: Array<{ id: string; view: string }> };
    expect(changes.updated.map((e) => [e.id, e.view])).toEqual([[privateId, 'time']]);
    expectNoSecrets(push);
    await bob.request('Push/unsubscribe', { scopes: [`cal:${calendarId}`] });
  });

  it('may not write (FORBIDDEN) and a stranger cannot even find the calendar (NOT_FOUND)', async () => {
    await expect(bob.request('CalendarEvent/set', { calendarId, create: { x: { ics: simpleEvent() } } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await server.createAccount('mallory@example.com');
    const mallory = await server.connect('mallory@example.com');
    await expect(mallory.request('CalendarEvent/get', { calendarId, ids: [privateId] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(mallory.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-10T00:00:00Z', to: '2026-12-11T00:00:00Z' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const subscribe = await mallory.request('Push/subscribe', { scopes: [{ scope: `cal:${calendarId}` }] });
    expect(subscribe.notSubscribed[`cal:${calendarId}`]!.code).toBe('NOT_FOUND');
  });
});

describe('the owner and a delegate with private access', () => {
  it('see the private event in full', async () => {
    for (const client of [alice, carol]) {
      const got = await client.request('CalendarEvent/get', { calendarId, ids: [privateId] });
      expect(got.list[0]).toMatchObject({ view: 'full', uid: 'private-tentative-1@samples.dmci' });
      expect(got.list[0]!.ics).toContain('LOCATION:Clinic');
      const { instances } = await client.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-10T00:00:00Z', to: '2026-12-11T00:00:00Z' });
      expect(instances.find((i) => i.eventId === privateId)).toMatchObject({ view: 'full', summary: "Doctor's appointment" });
    }
  });
});

describe('a writer without private access', () => {
  it('may not change or destroy a private event it sees as time only', async () => {
    await server.createAccount('erin@example.com');
    const erin = await server.connect('erin@example.com');
    await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'erin@example.com': 'write' } } } });
    const update = await erin.request('CalendarEvent/set', { calendarId, update: { [privateId]: { ics: sample('private-tentative-kolkata.ics') } } });
    expect(update.notUpdated[privateId]!.code).toBe('FORBIDDEN');
    const destroy = await erin.request('CalendarEvent/set', { calendarId, destroy: [privateId] });
    expect(destroy.notDestroyed[privateId]!.code).toBe('FORBIDDEN');
    // The delegate with private access may.
    const byDelegate = await carol.request('CalendarEvent/set', { calendarId, update: { [privateId]: { ics: sample('private-tentative-kolkata.ics') } } });
    expect(Object.keys(byDelegate.updated)).toEqual([privateId]);
  });
});

describe('a free/busy-only grantee', () => {
  it('sees the calendar in its list but no events', async () => {
    await server.createAccount('dave@example.com');
    const dave = await server.connect('dave@example.com');
    await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'dave@example.com': 'freebusy' } } } });
    const { list } = await dave.request('Calendar/get', {});
    expect(list.find((c) => c.id === calendarId)).toMatchObject({ myRights: { right: 'freebusy', mayReadPrivate: false }, shareWith: null });
    await expect(dave.request('CalendarEvent/get', { calendarId, ids: [publicId] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(dave.request('CalendarEvent/changes', { calendarId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
