import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode, decodeResult, DefaultLimits, encodedSize, FreeBusyLimits, packBusyPeriods, unpackBusyPeriods, type MethodResult, type PrincipalFreeBusyWire } from '../../protocol/index.ts';
import { withinAnswerBudget } from '../../server/freebusy/freebusy-query.ts';
import { openAuthenticated, rawRequest, stallReading } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';

/**
 * Issue 7 on the free/busy doors: the largest FreeBusy/query answer and
 * FreeBusy/watch push stay within maxAnswerBytes (entries cut short carry
 * `cutAt`; past the budget without periods, LIMIT_EXCEEDED), and a watcher
 * that never reads its pushes is held to the socket's output budget (4009).
 */
const HIGH_WATER = 256 * 1024;
// One byte above: a socket at high water is past the close mark, so the next push closes it whatever the kernel buffers took.
const CLOSE_WATER = HIGH_WATER + 1;
const FROM = '2026-12-01T00:00:00Z';
const TO = '2027-01-31T00:00:00Z'; // 61 days
const SERIES = 5;

/** A series of 5,000 one-minute instances every ten minutes, offset by 2k minutes: the five never touch, so 25,000 periods. */
function denseSeries(k: number, summary: string): string {
  const start = new Date(Date.parse(FROM) + k * 2 * 60_000);
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci tests//EN', 'BEGIN:VEVENT', `UID:dense-${k}-${summary.length}@fb.test`, 'DTSTAMP:20261001T000000Z', `DTSTART:${fmt(start)}`, `DTEND:${fmt(new Date(start.getTime() + 60_000))}`, `SUMMARY:${summary}`, 'RRULE:FREQ=MINUTELY;INTERVAL=10;COUNT=5000', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

function principal(n: number, periods: number, details: number): PrincipalFreeBusyWire {
  const ms = (i: number) => Date.parse(FROM) + i * 120_000;
  const at = (i: number) => new Date(ms(i)).toISOString();
  return {
    principal: `p${n}@example.com`,
    kind: 'person',
    status: 'ok',
    via: null,
    members: null,
    memberCount: null,
    view: 'details',
    periods: packBusyPeriods(Array.from({ length: periods }, (_, i) => ({ start: ms(i), end: ms(i + 0.5), busyType: 'BUSY' as const })), Date.parse(FROM)),
    details: Array.from({ length: details }, (_, i) => ({ start: at(i), end: at(i + 0.5), busyType: 'BUSY' as const, summary: 's'.repeat(40), location: null })),
    slots: '2'.repeat(2976),
    workingHours: null,
    outOfOffice: null,
    cutAt: null,
  };
}

describe('withinAnswerBudget', () => {
  it('keeps 100 principals × a full window of periods and details within maxAnswerBytes, each cut entry exact up to its cutAt', () => {
    const asked = Array.from({ length: 100 }, (_, n) => principal(n, 5000, 5000));
    const kept = withinAnswerBudget(asked, Date.parse(FROM));
    expect(encodedSize({ type: 'response', id: 1, ok: true, result: { from: FROM, to: TO, interval: 30, principals: kept } })).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
    expect(kept).toHaveLength(100);
    expect(kept[0]!.cutAt).toBeNull(); // the first ones whole
    const cut = kept.filter((p) => p.cutAt !== null);
    expect(cut.length).toBeGreaterThan(0);
    for (const [i, p] of kept.entries()) {
      expect(p.slots).toBe(asked[i]!.slots); // slots always complete
      if (p.cutAt === null) continue;
      const periods = unpackBusyPeriods(p.periods, FROM);
      expect(periods.every((x) => x.start < p.cutAt!) && p.details.every((x) => x.start < p.cutAt!)).toBe(true);
      // Exact up to cutAt: everything asked that starts before it is there.
      expect(periods).toEqual(unpackBusyPeriods(asked[i]!.periods, FROM).filter((x) => x.start < p.cutAt!));
      expect(p.details).toEqual(asked[i]!.details.filter((x) => x.start < p.cutAt!));
    }
  });

  it('refuses with LIMIT_EXCEEDED when the entries alone pass the budget', () => {
    const huge = Array.from({ length: 100 }, (_, n) => ({ ...principal(n, 0, 0), kind: 'group' as const, members: Array.from({ length: 100 }, (_, m) => `${'m'.repeat(300)}${m}@example.com`) }));
    expect(() => withinAnswerBudget(huge, Date.parse(FROM))).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED', details: { limit: DefaultLimits.maxAnswerBytes } }));
  });
});

describe('free/busy answers over a dense calendar', { timeout: 300_000 }, () => {
  let server: TestServer;
  let viewer: DmciClient;
  let owner: DmciClient;

  beforeAll(async () => {
    server = await startTestServer({ DMCI_HIGH_WATER_BYTES: String(HIGH_WATER), DMCI_CLOSE_WATER_BYTES: String(CLOSE_WATER), DMCI_POLL_INTERVAL_MS: '60000' });
    await server.createAccount('dense@fb.test');
    await server.createAccount('viewer@fb.test');
    owner = await server.connect('dense@fb.test');
    viewer = await server.connect('viewer@fb.test');
    const calendarId = await defaultCalendarId(owner);
    // `details`: the viewer sees subjects too — about 4.6 MB of periods and details unbounded.
    await owner.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'viewer@fb.test': 'details' } } } });
    for (let k = 0; k < SERIES; k++) {
      const result = await owner.request('CalendarEvent/set', { calendarId, create: { e: { ics: denseSeries(k, `meeting ${'x'.repeat(60)}`) } } });
      expect(result.notCreated).toEqual({});
    }
  });
  afterAll(() => server.stop());

  it('FreeBusy/query cuts the periods and details at cutAt within maxAnswerBytes; asking again from cutAt goes on', async () => {
    // The bound is on the bytes sent (periods packed); the client library then unpacks them.
    const sent = (await viewer.call('FreeBusy/query', { principals: ['dense@fb.test'], from: FROM, to: TO, interval: 1440 })) as MethodResult<'FreeBusy/query'>;
    expect(encodedSize(sent)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
    const answer = decodeResult('FreeBusy/query', sent);
    const [dense] = answer.principals;
    // 5,000 instances every ten minutes: the first 35 days busy. Slots are never cut.
    expect(dense).toMatchObject({ status: 'ok', view: 'details', slots: '2'.repeat(35) + '0'.repeat(26) });
    expect(dense!.cutAt).not.toBeNull();
    expect(dense!.periods.length).toBeGreaterThan(1000);
    expect(dense!.periods.at(-1)!.start < dense!.cutAt! && dense!.details.at(-1)!.start < dense!.cutAt!).toBe(true);
    const next = await viewer.request('FreeBusy/query', { principals: ['dense@fb.test'], from: dense!.cutAt!, to: TO, interval: 1440 });
    expect(next.principals[0]!.periods[0]!.start).toBe(dense!.cutAt);
  });

  it('holds a watcher that never reads to the output budget: a push within maxAnswerBytes, then 4009', async () => {
    const socket = await openAuthenticated(server.url, 'viewer@fb.test');
    const sessionId = socket.frames.find((f) => f.type === 'welcome')!.sessionId as string;
    const watched = await rawRequest(socket, 1, 'FreeBusy/watch', { principals: ['dense@fb.test'], from: FROM, to: TO, interval: 1440 });
    expect(watched).toMatchObject({ ok: true });
    const stalled = stallReading(socket, () => server.app.sessions.get(sessionId)?.transport.bufferedAmount ?? 0);
    const calendarId = await defaultCalendarId(owner);
    // The session stays registered until its close handshake ends: the closes counter says when the server gave up on it.
    const slowConsumerCloses = async () => Number(/^dmci_slow_consumer_closes_total (\d+)/m.exec(await (await fetch(`${server.opsUrl}/metrics`)).text())?.[1] ?? 0);
    const closesBefore = await slowConsumerCloses();
    try {
      // Each small write changes the watched free/busy: a push of the whole entry (cut at ~2 MiB) each, until the
      // kernel's buffers are full, the unread bytes pass the close mark and the socket is closed.
      for (let k = 0; k < 40 && (await slowConsumerCloses()) === closesBefore; k++) {
        await owner.request('CalendarEvent/set', { calendarId, create: { e: { ics: simpleEvent({ start: new Date(Date.parse('2027-01-10T00:00:00Z') + k * 3_600_000).toISOString(), minutes: 30 }) } } });
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      stalled.stopSampling();
    }
    expect(stalled.maxUnread()).toBeLessThanOrEqual(CLOSE_WATER + DefaultLimits.maxAnswerBytes);
    stalled.resume();
    const closed = await Promise.race([socket.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
    expect(closed?.code).toBe(CloseCode.SLOW_CONSUMER);
    const pushes = socket.frames.filter((f) => f.type === 'push');
    expect(pushes.some((f) => f.changes)).toBe(true);
    for (const push of pushes) expect(encodedSize(push)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
  });

  it('refuses a query whose calendars hold more busy instances in the window than one request may read', async () => {
    // 25,000 instances are indexed; four more copies of each (written straight into the index) pass maxBusyInstances.
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `insert into event_instances (event_id, calendar_id, recurrence_id, during, start_local, end_local, tzid, all_day, floating, busy_type, transparent, status, classification, is_override, summary, location)
         select event_id, calendar_id, recurrence_id || '-' || g, during, start_local, end_local, tzid, all_day, floating, busy_type, transparent, status, classification, is_override, summary, location
           from event_instances, generate_series(1, 4) g
          where calendar_id = $1 and recurrence_id not like '%-%'`,
        [await defaultCalendarId(owner)],
      );
    } finally {
      await db.end();
    }
    await expect(viewer.request('FreeBusy/query', { principals: ['dense@fb.test'], from: FROM, to: TO, interval: 1440 })).rejects.toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { limit: FreeBusyLimits.maxBusyInstances },
    });
  });
});
