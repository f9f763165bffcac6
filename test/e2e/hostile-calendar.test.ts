import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { denseVtimezoneEvent } from '../../bench/support/hostile-inputs.ts';
import type { DmciClient } from '../../connector-sim/client.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 3: one CalendarEvent/set of dense-VTIMEZONE objects froze
 * every session (a second each, on the event loop). Now each is refused by
 * its work budget, and the parsing runs in a worker thread: another
 * session's requests keep being answered while it runs. No timing
 * threshold: the other session must complete a number of round trips (each
 * several database queries) before the hostile call returns, which a blocked
 * event loop does not allow.
 */
const HOSTILE_OBJECTS = 4;
const ROUND_TRIPS = 30;

let server: TestServer;
let attacker: DmciClient;
let other: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('mallory@hostile.example');
  await server.createAccount('alice@hostile.example');
  attacker = await server.connect('mallory@hostile.example', undefined, { requestTimeoutMs: 120_000 });
  other = await server.connect('alice@hostile.example', undefined, { requestTimeoutMs: 120_000 });
});
afterAll(() => server.stop());

describe('a hostile CalendarEvent/set', () => {
  it('is refused object by object while another session keeps being answered', async () => {
    const calendarId = await defaultCalendarId(attacker);
    const otherCalendar = await defaultCalendarId(other);
    // The first write starts the worker threads: that start is not what is measured here.
    expect((await attacker.request('CalendarEvent/set', { calendarId, create: { warm: { ics: simpleEvent() } } })).notCreated).toEqual({});

    const create = Object.fromEntries(Array.from({ length: HOSTILE_OBJECTS }, (_, i) => [`h${i}`, { ics: denseVtimezoneEvent(`dense-${i}@hostile.example`) }]));
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const started = performance.now();
    let hostileDone = false;
    const hostile = attacker.request('CalendarEvent/set', { calendarId, create }).finally(() => (hostileDone = true));
    let answeredMeanwhile = 0;
    while (!hostileDone && answeredMeanwhile < ROUND_TRIPS) {
      await other.request('CalendarEvent/get', { calendarId: otherCalendar, ids: ['00000000-0000-4000-8000-000000000000'] });
      if (!hostileDone) answeredMeanwhile++;
    }
    const result = await hostile;
    const elapsedMs = performance.now() - started;
    loopDelay.disable();

    expect(answeredMeanwhile).toBe(ROUND_TRIPS);
    expect(result.created).toEqual({});
    for (const error of Object.values(result.notCreated)) {
      expect(error).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { budget: 'object', limit: 250_000 } });
    }
    expect(Object.keys(result.notCreated)).toHaveLength(HOSTILE_OBJECTS);
    // The event loop never stalled for anything like the hostile call's duration (it used to, for all of it).
    expect(loopDelay.max / 1e6).toBeLessThan(elapsedMs / 2);
  });
});
