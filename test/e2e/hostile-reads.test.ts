import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 3, the read side: a dense series every write accepts (a
 * minutely one: its occurrence index stops at 5,000 rows, a few days in)
 * makes reads past those days expand it on the fly, up to its work budget.
 * That expansion used to run on the event loop, a whole object at a time;
 * now every such read posts it to the calendar worker pool (whose tests show
 * the loop stays free: test/calendar/ical-work/pool.test.ts,
 * hostile-calendar.test.ts). Checked here through what ops see: each read
 * shows up as an `expandUnindexed` task in dmci_calendar_work_seconds, and
 * answers as before.
 */
let server: TestServer;
let reader: DmciClient;
let calendarId: string;

const stamp = (date: Date) => date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000);

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('mallory@reads.example');
  reader = await server.connect('mallory@reads.example', undefined, { requestTimeoutMs: 120_000 });
  calendarId = await defaultCalendarId(reader);
  const create = {
    // Minutely for 500 days from an hour ago: indexed for its first few days only.
    dense: { ics: simpleEvent({ uid: 'minutely@reads.example', start: daysAgo(1 / 24).toISOString(), minutes: 1, rrule: `FREQ=MINUTELY;UNTIL=${stamp(daysAgo(-500))}` }) },
    // Minutely through last year: its index (from a year back) holds a few days no window of this year touches.
    old: { ics: simpleEvent({ uid: 'last-year@reads.example', start: daysAgo(400).toISOString(), minutes: 1, rrule: `FREQ=MINUTELY;UNTIL=${stamp(daysAgo(300))}` }) },
  };
  expect((await reader.request('CalendarEvent/set', { calendarId, create })).notCreated).toEqual({});
});
afterAll(() => server.stop());

/** How many expandUnindexed tasks the worker pool has run, from /metrics. */
async function expansionsRun(): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('dmci_calendar_work_seconds_count{task="expandUnindexed"}'));
  return line ? Number(line.split(' ').at(-1)) : 0;
}

describe('reads that expand a dense stored series past its index', () => {
  it('CalendarEvent/query expands in the worker pool', async () => {
    const before = await expansionsRun();
    const from = daysAgo(-300);
    const page = await reader.request('CalendarEvent/query', { calendarIds: [calendarId], from: from.toISOString(), to: new Date(from.getTime() + 3_600_000).toISOString(), timeZone: 'UTC', position: 0, limit: 10 });
    expect(page.instances).toHaveLength(10);
    expect(page.instances.every((i) => i.uid === 'minutely@reads.example')).toBe(true);
    expect(page.hasMore).toBe(true);
    expect(await expansionsRun()).toBe(before + 1);
  });

  it('a window sync expands in the worker pool', async () => {
    const before = await expansionsRun();
    const page = await reader.request('CalendarEvent/changes', { calendarId, window: { pastDays: 320, futureDays: 1 } });
    // Too many instances to list in the window means it certainly touches it: the replica gets last year's series.
    expect(page.created.map((e) => e.uid).sort()).toEqual(['last-year@reads.example', 'minutely@reads.example']);
    expect(await expansionsRun()).toBeGreaterThan(before);
  });

  it('a query with nothing past the index asks the pool for nothing', async () => {
    const before = await expansionsRun();
    await reader.request('CalendarEvent/query', { calendarIds: [calendarId], from: daysAgo(1).toISOString(), to: daysAgo(0.5).toISOString(), timeZone: 'UTC', position: 0, limit: 10 });
    expect(await expansionsRun()).toBe(before);
  });
});
