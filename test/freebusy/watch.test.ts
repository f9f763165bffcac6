import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { PrincipalFreeBusy, PushFrame } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';

/**
 * Live free/busy (issue 9 item 5): a watch pushes only the principals whose
 * free/busy changed inside its window, is authorized again when the
 * watcher's rights change, and ends with the session. The backstop poll is
 * off (a minute), so pushes come from commit hints.
 */

let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;
let bob: DmciClient;
let carol: DmciClient;
const window = { from: '2026-12-01T08:00:00Z', to: '2026-12-01T18:00:00Z', interval: 60 };

type FreeBusyPush = PushFrame & { changes?: { principals: PrincipalFreeBusy[] } };

function collect(client: DmciClient, scope: string): FreeBusyPush[] {
  const frames: FreeBusyPush[] = [];
  client.on('push', (frame: PushFrame) => {
    if (frame.scope === scope) frames.push(frame as FreeBusyPush);
  });
  return frames;
}

async function add(client: DmciClient, start: string, minutes = 60): Promise<void> {
  const result = await client.request('CalendarEvent/set', { calendarId: await defaultCalendarId(client), create: { e: { ics: simpleEvent({ start, minutes }) } } });
  expect(result.notCreated).toEqual({});
}

beforeAll(async () => {
  server = await startTestServer({ DMCI_POLL_INTERVAL_MS: '60000' });
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  for (const name of ['alice', 'bob', 'carol']) await server.createAccount(`${name}@example.com`);
  admin = await server.connect('admin@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  carol = await server.connect('carol@example.com');
});
afterAll(() => server.stop());

describe('FreeBusy/watch', () => {
  it('pushes only the changed principals, only for changes inside the window', async () => {
    const watched = await alice.request('FreeBusy/watch', { principals: ['bob@example.com', 'carol@example.com'], ...window });
    expect(watched.watch).toMatch(/^freebusy:/);
    expect(watched.principals.map((p) => p.slots)).toEqual(['0000000000', '0000000000']);
    const frames = collect(alice, watched.watch);

    await add(bob, '2026-12-01T09:00:00Z');
    await expect.poll(() => frames.length).toBe(1);
    expect(frames[0]).toMatchObject({ oldState: '0', newState: '1' });
    expect(frames[0]!.changes!.principals.map((p) => [p.principal, p.slots])).toEqual([['bob@example.com', '0200000000']]);

    // Outside the window: no push. The next push (Carol's) follows directly on the first.
    await add(bob, '2026-12-05T09:00:00Z');
    await add(carol, '2026-12-01T17:00:00Z');
    await expect.poll(() => frames.length).toBe(2);
    expect(frames[1]).toMatchObject({ oldState: '1', newState: '2' });
    expect(frames[1]!.changes!.principals.map((p) => [p.principal, p.slots])).toEqual([['carol@example.com', '0000000002']]);
  });

  it('is authorized again when the watcher’s rights change', async () => {
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', members: 'none' });
    const watched = await alice.request('FreeBusy/watch', { principals: ['bob@example.com'], ...window });
    expect(watched.principals[0]!.status).toBe('noRight');
    const frames = collect(alice, watched.watch);
    const bobCalendar = await defaultCalendarId(bob);
    await bob.request('Calendar/set', { update: { [bobCalendar]: { shareWith: { 'alice@example.com': 'details' } } } });
    await expect.poll(() => frames.length).toBe(1);
    expect(frames[0]!.changes!.principals[0]).toMatchObject({ principal: 'bob@example.com', status: 'ok', view: 'details', slots: '0200000000' });
    expect(frames[0]!.changes!.principals[0]!.details.map((d) => d.summary)).toEqual(['Test event']);
    await bob.request('Calendar/set', { update: { [bobCalendar]: { shareWith: { 'alice@example.com': null } } } });
    await expect.poll(() => frames.length).toBe(2);
    expect(frames[1]!.changes!.principals[0]).toMatchObject({ status: 'noRight', slots: null, periods: [] });
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', members: 'time' });
  });

  it('pushes settings changes: out of office, working hours, which calendars count, the domain defaults', async () => {
    const dave = await server.createAccount('dave@example.com').then(() => server.connect('dave@example.com'));
    const watched = await alice.request('FreeBusy/watch', { principals: ['dave@example.com', 'carol@example.com'], ...window });
    const frames = collect(alice, watched.watch);
    const daveOf = (i: number) => frames[i]!.changes!.principals.find((p) => p.principal === 'dave@example.com');

    await dave.setFreeBusySettings({ outOfOffice: { from: '2026-12-01T00:00:00Z', until: '2026-12-02T00:00:00Z' } });
    await expect.poll(() => frames.length).toBe(1);
    expect(frames[0]!.changes!.principals.map((p) => p.principal)).toEqual(['dave@example.com']);
    expect(daveOf(0)!.outOfOffice).toEqual({ from: '2026-12-01T00:00:00.000Z', until: '2026-12-02T00:00:00.000Z' });

    await dave.setFreeBusySettings({ workingHours: { days: [1, 2, 3], start: '10:00', end: '16:00', timeZone: 'Europe/Berlin' } });
    await expect.poll(() => frames.length).toBe(2);
    expect(daveOf(1)!.workingHours).toEqual({ days: [1, 2, 3], start: '10:00', end: '16:00', timeZone: 'Europe/Berlin' });

    // A calendar that starts to count: its busy time is pushed, and its later changes are followed.
    const side = (await dave.request('Calendar/set', { create: { c: { name: 'Side' } } })).created.c!.id;
    const put = await dave.request('CalendarEvent/set', { calendarId: side, create: { e: { ics: simpleEvent({ start: '2026-12-01T08:00:00Z' }) } } });
    expect(put.notCreated).toEqual({});
    await dave.setFreeBusySettings({ calendars: { [side]: { countsTowardFreeBusy: true } } });
    await expect.poll(() => frames.length).toBe(3);
    expect(daveOf(2)!.slots).toBe('2000000000');
    await dave.request('CalendarEvent/set', { calendarId: side, create: { e: { ics: simpleEvent({ start: '2026-12-01T17:00:00Z' }) } } });
    await expect.poll(() => frames.length).toBe(4);
    expect(daveOf(3)!.slots).toBe('2000000002');

    // The domain's default for members: every watched member of the domain again.
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', members: 'none' });
    await expect.poll(() => frames.length).toBe(5);
    expect(frames[4]!.changes!.principals.map((p) => [p.principal, p.status])).toEqual([
      ['dave@example.com', 'noRight'],
      ['carol@example.com', 'noRight'],
    ]);
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', members: 'time' });
    await expect.poll(() => frames.length).toBe(6);
    await alice.request('FreeBusy/unwatch', {});
    await dave.close();
  });

  it('one watch per session; it ends with unwatch and with the session', async () => {
    const before = server.app.freeBusyWatches.size;
    const other = await server.connect('alice@example.com');
    await other.request('FreeBusy/watch', { principals: ['bob@example.com'], ...window });
    await other.request('FreeBusy/watch', { principals: ['carol@example.com'], ...window });
    expect(server.app.freeBusyWatches.size).toBe(before + 1);
    await other.request('FreeBusy/unwatch', {});
    expect(server.app.freeBusyWatches.size).toBe(before);
    await other.request('FreeBusy/watch', { principals: ['bob@example.com'], ...window });
    expect(server.app.freeBusyWatches.size).toBe(before + 1);
    await other.close();
    await expect.poll(() => server.app.freeBusyWatches.size).toBe(before);
  });

  it('refuses what FreeBusy/query refuses', async () => {
    await expect(alice.request('FreeBusy/watch', { principals: ['bob@example.com'], from: '2026-12-01T00:00:00Z', to: '2027-03-01T00:00:00Z' })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });
});
