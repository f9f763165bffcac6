import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCalendar } from '../../connector-sim/calendar-sources.ts';
import { CloseCode, DefaultLimits } from '../../protocol/index.ts';
import { openAuthenticated, stallReading, type RawSocket } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 2: a session that sends requests and never reads the answers
 * must not grow server memory. Answers count in the same per-socket output
 * budget as pushes: past the high-water mark the server stops reading the
 * socket, past the close mark it closes it (4009) — while other sessions
 * keep being served.
 */
const HIGH_WATER = 512 * 1024;
const CLOSE_WATER = 4 * 1024 * 1024;

const bigEvent = (n: number) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:unread-${n}@test`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261210T090000Z', 'DTEND:20261210T100000Z', 'SUMMARY:big', `DESCRIPTION:${'u'.repeat(200_000)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

describe('unread answers', { timeout: 180_000 }, () => {
  let server: TestServer;
  let calendarId: string;

  beforeAll(async () => {
    server = await startTestServer({
      DMCI_HIGH_WATER_BYTES: String(HIGH_WATER),
      DMCI_CLOSE_WATER_BYTES: String(CLOSE_WATER),
      // The flood must reach the output budget, not the request rate limit.
      DMCI_REQUESTS_PER_SECOND: '100000',
      DMCI_REQUEST_BURST: '100000',
    });
    await server.createAccount('flood@unread.example');
    await server.createAccount('calm@other.example');
    const owner = await server.connect('flood@unread.example');
    calendarId = (await resolveCalendar(owner, undefined)).id;
    // Four events of ~200 KB: every CalendarEvent/changes answer is ~800 KB.
    for (let n = 0; n < 4; n++) await owner.request('CalendarEvent/set', { calendarId, create: { e: { ics: bigEvent(n) } } });
  });
  afterAll(() => server.stop());

  /** A raw session whose client never reads its socket; samples the server-side unread bytes while it floods. */
  async function stalledSession(): Promise<{ socket: RawSocket; resume: () => void; maxUnread: () => number; stopSampling: () => void }> {
    const socket = await openAuthenticated(server.url, 'flood@unread.example');
    const sessionId = socket.frames.find((f) => f.type === 'welcome')!.sessionId as string;
    return { socket, ...stallReading(socket, () => server.app.sessions.get(sessionId)?.transport.bufferedAmount ?? 0) };
  }

  const changesAnswered = async () => {
    const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
    return [...text.matchAll(/^dmci_requests_total\{method="CalendarEvent\/changes",outcome="ok"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(await (await fetch(`${server.opsUrl}/metrics`)).text())?.[1] ?? 0);

  it('stops reading a socket whose answers pile up unread, while another session is served', async () => {
    const calm = await server.connect('calm@other.example');
    const calmCalendar = await resolveCalendar(calm, undefined);
    const answeredBefore = await changesAnswered();
    const { socket, maxUnread, stopSampling } = await stalledSession();

    const sent = 300;
    let served = 0;
    for (let id = 1; id <= sent; id++) {
      socket.send({ type: 'request', id, method: 'CalendarEvent/changes', args: { calendarId } });
      await new Promise((resolve) => setTimeout(resolve, 3));
      if (id % 30 === 0) {
        // The other session, in another domain, is answered all along.
        const page = await calm.request('CalendarEvent/changes', { calendarId: calmCalendar.id });
        expect(page.calendarId).toBe(calmCalendar.id);
        served++;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    stopSampling();

    expect(served).toBe(sent / 30);
    expect(await metric('dmci_reading_paused_total')).toBeGreaterThan(0);
    // Most requests were never read: they wait in the client's TCP window, not in server memory.
    expect((await changesAnswered()) - answeredBefore).toBeLessThan(sent / 3);
    expect(maxUnread()).toBeLessThanOrEqual(CLOSE_WATER + DefaultLimits.maxAnswerBytes);
    socket.ws.terminate();
  });

  it('closes the socket with 4009 when unread answers pass the close mark', async () => {
    const { socket, resume, maxUnread, stopSampling } = await stalledSession();
    // 60 requests at once (under maxInFlight): ~48 MB of answers if all were queued.
    for (let id = 1; id <= 60; id++) socket.send({ type: 'request', id, method: 'CalendarEvent/changes', args: { calendarId } });
    const deadline = Date.now() + 60_000;
    while ((await metric('dmci_slow_consumer_closes_total')) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    stopSampling();
    expect(maxUnread()).toBeLessThanOrEqual(CLOSE_WATER + DefaultLimits.maxAnswerBytes);
    resume(); // the close frame waits behind what was queued before it
    const closed = await Promise.race([socket.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
    expect(closed?.code).toBe(CloseCode.SLOW_CONSUMER);
  });
});
