import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from './helpers.ts';

/**
 * Time-window sync: only events touching [today − pastDays, today +
 * futureDays] are in the replica; as time passes they enter as created and
 * leave as destroyed. The server's clock is moved through the service (tests
 * only), never through the protocol.
 */

const DAY = 86_400_000;
let server: TestServer;
let alice: DmciClient;
let calendarId: string;
const t0 = Date.parse('2027-03-01T12:00:00Z');
const at = (days: number) => new Date(t0 + days * DAY).toISOString();

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  alice = await server.connect('alice@example.com');
  calendarId = await defaultCalendarId(alice);
  server.app.services.calendarEvents.clock = () => new Date(t0);
});
afterAll(() => server.stop());

describe('CalendarEvent/changes with a window', () => {
  it('syncs only events touching the window, and follows the window as time passes', async () => {
    const set = await alice.request('CalendarEvent/set', {
      calendarId,
      create: {
        past: { ics: simpleEvent({ uid: 'past@w', start: at(-3) }) },
        soon: { ics: simpleEvent({ uid: 'soon@w', start: at(5) }) },
        later: { ics: simpleEvent({ uid: 'later@w', start: at(20) }) },
        old: { ics: simpleEvent({ uid: 'old@w', start: at(-30) }) },
        weekly: { ics: simpleEvent({ uid: 'weekly@w', start: at(-60), rrule: 'FREQ=WEEKLY' }) },
      },
    });
    const id = (key: string) => set.created[key]!.id;
    const window = { pastDays: 7, futureDays: 10 };

    const replica = new Set<string>();
    const initial = await alice.request('CalendarEvent/changes', { calendarId, window, maxChanges: 2 });
    let state = initial.newState;
    for (const e of initial.created) replica.add(e.id);
    let more = initial.hasMoreChanges;
    while (more) {
      const page = await alice.request('CalendarEvent/changes', { calendarId, window, sinceState: state, maxChanges: 2 });
      for (const e of page.created) replica.add(e.id);
      state = page.newState;
      more = page.hasMoreChanges;
    }
    expect([...replica].sort()).toEqual([id('past'), id('soon'), id('weekly')].sort());

    // Eleven days later: "past" left, "later" entered, "soon" and the weekly series stay.
    server.app.services.calendarEvents.clock = () => new Date(t0 + 11 * DAY);
    const moved = await alice.request('CalendarEvent/changes', { calendarId, window, sinceState: state });
    expect(moved.created.map((e) => e.id)).toEqual([id('later')]);
    expect(moved.destroyed).toEqual([id('past')]);
    state = moved.newState;

    // An edit that moves an event out of the window removes it from the replica.
    await alice.request('CalendarEvent/set', { calendarId, update: { [id('later')]: { ics: simpleEvent({ uid: 'later@w', start: at(200) }) } } });
    const edited = await alice.request('CalendarEvent/changes', { calendarId, window, sinceState: state });
    expect(edited.destroyed).toEqual([id('later')]);
    expect(edited.created).toEqual([]);

    // Nothing changed and the day did not turn: nothing to report.
    const quiet = await alice.request('CalendarEvent/changes', { calendarId, window, sinceState: edited.newState });
    expect(quiet).toMatchObject({ created: [], updated: [], destroyed: [], newState: edited.newState });
  });

  it('refuses to mix windowed and full states', async () => {
    const full = await alice.request('CalendarEvent/changes', { calendarId });
    await expect(alice.request('CalendarEvent/changes', { calendarId, sinceState: full.newState, window: { pastDays: 1, futureDays: 1 } })).rejects.toMatchObject({
      code: 'CANNOT_CALCULATE_CHANGES',
    });
  });
});
