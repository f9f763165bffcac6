import { encode } from '@msgpack/msgpack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DefaultLimits, type CalendarEvent } from '../../protocol/index.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';
import { openAuthenticated, rawRequest, type RawSocket } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 1: every answer is bounded in bytes, and after maximum-size
 * answers another account's frames are exactly what they should be, byte
 * for byte (a shared encoder once sent them with stale bytes of earlier
 * frames).
 */
const EVENTS = 10;
// Just under the 256 KiB per-object limit as sent; stored folded, ~255 KB.
const nearLimitEvent = (n: number) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:near-limit-${n}@big.example`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261210T090000Z', 'DTEND:20261210T100000Z', `SUMMARY:owner-${n}@big.example private`, `DESCRIPTION:${String(n).repeat(245_000)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

describe('answers bounded in bytes', { timeout: 180_000 }, () => {
  let server: TestServer;
  let big: DmciClient;
  let bigCalendar: string;
  let raw: RawSocket;
  const rawSizes: number[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    await server.createAccount('big@big.example');
    await server.createAccount('other@other.example');
    big = await server.connect('big@big.example');
    bigCalendar = await defaultCalendarId(big);
    for (let n = 0; n < EVENTS; n++) {
      const result = await big.request('CalendarEvent/set', { calendarId: bigCalendar, create: { e: { ics: nearLimitEvent(n) } } });
      expect(Object.keys(result.created)).toEqual(['e']);
    }
    raw = await openAuthenticated(server.url, 'big@big.example');
    raw.ws.on('message', (data: Buffer) => rawSizes.push(data.length));
  });
  afterAll(async () => {
    raw.ws.terminate();
    await server.stop();
  });

  it('ends a /changes page early at maxAnswerBytes and pages through every event once', async () => {
    const seen: string[] = [];
    let sinceState: string | undefined;
    let pages = 0;
    for (;;) {
      const response = await rawRequest(raw, `changes-${pages}`, 'CalendarEvent/changes', { calendarId: bigCalendar, maxChanges: 1000, ...(sinceState ? { sinceState } : {}) });
      const page = response.result as { created: CalendarEvent[]; updated: CalendarEvent[]; hasMoreChanges: boolean; newState: string };
      expect(rawSizes.at(-1)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
      pages++;
      seen.push(...[...page.created, ...page.updated].map((e) => e.id));
      sinceState = page.newState;
      if (!page.hasMoreChanges) break;
      expect(page.created.length).toBeGreaterThan(0);
    }
    expect(pages).toBeGreaterThan(1);
    // The first page was a maximum-size answer: within a few events of the limit.
    expect(Math.max(...rawSizes)).toBeGreaterThan(DefaultLimits.maxAnswerBytes - 4 * 256 * 1024);
    expect(new Set(seen).size).toBe(EVENTS);
    expect(seen).toHaveLength(EVENTS);
  });

  it('ends a /get early with hasMore; the ids left out are read by asking again', async () => {
    const ids = (await server.app.db.selectFrom('calendar_events').select('id').where('calendar_id', '=', bigCalendar).where('deleted', '=', false).execute()).map((r) => r.id);
    const got = new Set<string>();
    let wanted = ids;
    for (let round = 0; wanted.length > 0; round++) {
      expect(round).toBeLessThan(EVENTS);
      const response = await rawRequest(raw, `get-${round}`, 'CalendarEvent/get', { calendarId: bigCalendar, ids: wanted });
      expect(rawSizes.at(-1)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
      const result = response.result as { list: CalendarEvent[]; notFound: string[]; hasMore: boolean };
      expect(result.notFound).toEqual([]);
      expect(result.hasMore).toBe(result.list.length < wanted.length);
      for (const event of result.list) got.add(event.id);
      wanted = wanted.filter((id) => !got.has(id));
    }
    expect(got.size).toBe(EVENTS);
  });

  it("sends another domain's session exactly the bytes its answers encode to, after maximum-size answers", async () => {
    const other = await openAuthenticated(server.url, 'other@other.example');
    const otherSizes: Buffer[] = [];
    other.ws.on('message', (data: Buffer) => otherSizes.push(Buffer.from(data)));
    const calendars = (await rawRequest(other, 1, 'Calendar/get', {})).result as { list: Array<{ id: string; isDefault: boolean }> };
    const calendarId = calendars.list.find((c) => c.isDefault)!.id;
    const summary = 'a subject long enough to go through the encoder path for strings over fifty characters';
    const created = (await rawRequest(other, 2, 'CalendarEvent/set', { calendarId, create: { k: { ics: simpleEvent({ uid: 'other-event-with-a-long-uid-0123456789-abcdefghij@other.example', summary }) } } })).result as {
      created: Record<string, { id: string }>;
    };
    const eventId = created.created.k!.id;

    // Maximum-size answers for the first account, then the other account's reads.
    await rawRequest(raw, 'again', 'CalendarEvent/changes', { calendarId: bigCalendar, maxChanges: 1000 });
    const row = await server.app.db.selectFrom('calendar_events').selectAll().where('id', '=', eventId).executeTakeFirstOrThrow();
    const expectedEvent: CalendarEvent = {
      id: row.id,
      calendarId,
      uid: row.uid,
      version: row.version,
      view: 'full',
      ics: row.ics!,
      recurring: row.recurring,
      firstStart: row.first_start!.toISOString(),
      lastEnd: row.last_end ? row.last_end.toISOString() : null,
    };
    for (let round = 0; round < 3; round++) {
      await rawRequest(raw, `big-${round}`, 'CalendarEvent/changes', { calendarId: bigCalendar, maxChanges: 1000 });
      const response = await rawRequest(other, `get-${round}`, 'CalendarEvent/get', { calendarId, ids: [eventId] });
      const state = (response.result as { state: string }).state;
      const expected = encode({ type: 'response', id: `get-${round}`, ok: true, result: { calendarId, state, list: [expectedEvent], notFound: [], hasMore: false } });
      expect(otherSizes.at(-1)!.equals(Buffer.from(expected))).toBe(true);
    }
    expect(Buffer.concat(otherSizes).includes('big.example')).toBe(false);
    other.ws.terminate();
  });
});
