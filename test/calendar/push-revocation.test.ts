import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { resolveCalendar } from '../../connector-sim/calendar-sources.ts';
import type { Calendar, PushFrame } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Access is checked when a session subscribes and again whenever its grants change: a revoked reader stops getting pushes at once. */
let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let calendar: Calendar;

const ics = (uid: string, summary: string) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261210T090000Z', 'DTEND:20261210T100000Z', `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

function pushesOf(client: DmciClient, scope: string): PushFrame[] {
  const frames: PushFrame[] = [];
  client.on('push', (frame) => {
    if (frame.scope === scope) frames.push(frame);
  });
  return frames;
}

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  calendar = await resolveCalendar(alice, undefined);
});
afterAll(() => server.stop());

describe('push after a share is revoked', () => {
  it('stops delivering deltas and sends a resync mark; /changes then refuses', async () => {
    await alice.request('Calendar/set', { update: { [calendar.id]: { shareWith: { 'bob@example.com': 'read' } } } });
    const frames = pushesOf(bob, calendar.scope);
    const subscribed = await bob.request('Push/subscribe', { scopes: [{ scope: calendar.scope }] });
    expect(subscribed.subscribed).toHaveLength(1);

    await alice.request('CalendarEvent/set', { calendarId: calendar.id, create: { a: { ics: ics('before@test', 'seen by bob') } } });
    await expect.poll(() => frames.filter((f) => f.changes).length).toBe(1);

    await alice.request('Calendar/set', { update: { [calendar.id]: { shareWith: { 'bob@example.com': null } } } });
    await expect.poll(() => frames.some((f) => f.resync)).toBe(true);

    await alice.request('CalendarEvent/set', { calendarId: calendar.id, create: { b: { ics: ics('after@test', 'secret after revocation') } } });
    await alice.request('Core/echo', {});
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(frames.filter((f) => f.changes)).toHaveLength(1);
    expect(JSON.stringify(frames)).not.toContain('secret after revocation');
    await expect(bob.request('CalendarEvent/changes', { calendarId: calendar.id })).rejects.toMatchObject({ code: expect.stringMatching(/FORBIDDEN|NOT_FOUND/) });
  });
});
