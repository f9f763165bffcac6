import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import { resolveCalendar } from '../../connector-sim/calendar-sources.ts';
import { CloseCode } from '../../protocol/index.ts';
import { openAuthenticated, rawRequest, type RawSocket } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * DESIGN §4's slow consumers: a socket whose send buffer is above the
 * high-water mark gets resync marks instead of deltas, and one whose buffer
 * keeps growing past the close mark is closed with 4009. The consumer here
 * stops reading its socket; big events fill the kernel buffers first.
 */
const bigEvent = (n: number) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:big-${n}-${Date.now()}@test`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261210T090000Z', 'DTEND:20261210T100000Z', 'SUMMARY:big', `DESCRIPTION:${'x'.repeat(180_000)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

async function stalledFollower(server: TestServer): Promise<{ socket: RawSocket; calendarId: string; resume: () => void }> {
  await server.createAccount('slow@example.com');
  const owner = await server.connect('slow@example.com');
  const calendar = await resolveCalendar(owner, undefined);
  const socket = await openAuthenticated(server.url, 'slow@example.com');
  await rawRequest(socket, 1, 'Push/subscribe', { scopes: [{ scope: calendar.scope }] });
  const tcp = (socket.ws as unknown as { _socket: Socket })._socket;
  tcp.pause();
  for (let n = 0; n < 40 && socket.isOpen(); n++) {
    await owner.request('CalendarEvent/set', { calendarId: calendar.id, create: { e: { ics: bigEvent(n) } } });
  }
  return { socket, calendarId: calendar.id, resume: () => tcp.resume() };
}

describe('slow consumers', { timeout: 120_000 }, () => {
  let marking: TestServer;
  let closing: TestServer;
  beforeAll(async () => {
    [marking, closing] = await Promise.all([
      startTestServer({ DMCI_HIGH_WATER_BYTES: String(256 * 1024), DMCI_CLOSE_WATER_BYTES: String(64 * 1024 * 1024) }),
      // Closer than one big push above the high-water mark: the delta that crosses one crosses both.
      startTestServer({ DMCI_HIGH_WATER_BYTES: String(256 * 1024), DMCI_CLOSE_WATER_BYTES: String(300 * 1024) }),
    ]);
  });
  afterAll(() => Promise.all([marking.stop(), closing.stop()]));

  it('get resync marks instead of deltas above the high-water mark, and /changes still brings everything', async () => {
    const { socket, calendarId, resume } = await stalledFollower(marking);
    resume();
    await socket.waitFor((f) => f.type === 'push' && f.resync === true, 30_000);
    const pushes = socket.frames.filter((f) => f.type === 'push');
    expect(pushes.some((f) => f.changes !== undefined)).toBe(true); // deltas while the buffer was low
    expect(pushes.filter((f) => f.resync === true)).toHaveLength(1); // one mark per lag, not one per commit
    // 40 events of 180 KB: several answers of at most maxAnswerBytes.
    let created = 0;
    let sinceState: string | undefined;
    for (let id = 2; ; id++) {
      const page = (await rawRequest(socket, id, 'CalendarEvent/changes', { calendarId, maxChanges: 100, ...(sinceState ? { sinceState } : {}) })).result as { created: unknown[]; hasMoreChanges: boolean; newState: string };
      created += page.created.length;
      sinceState = page.newState;
      if (!page.hasMoreChanges) break;
    }
    expect(created).toBe(40);
  });

  it('are closed with 4009 when the buffer keeps growing past the close mark', async () => {
    const { socket, resume } = await stalledFollower(closing);
    resume(); // the close frame waits behind everything queued before it
    const closed = await Promise.race([socket.closed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 30_000))]);
    expect(closed?.code).toBe(CloseCode.SLOW_CONSUMER);
    const metrics = await (await fetch(`${closing.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/^dmci_slow_consumer_closes_total [1-9]/m);
  });
});
