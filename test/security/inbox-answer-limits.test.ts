import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DefaultLimits, encodedSize } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, meeting } from '../scheduling/helpers.ts';

/**
 * Issue 7 on the inbox door: an organizer fills someone's inbox with
 * invitations whose subjects are as long as an event allows. Inbox/changes
 * and Inbox/get answers stay within maxAnswerBytes (pages end early with
 * hasMoreChanges / hasMore) and paging still reaches every message once.
 */
const INVITATIONS = 40;
const SUMMARY_BYTES = 60_000; // 40 × 60 KB ≈ 2.4 MB of subjects: more than one answer may hold

let server: TestServer;
let victim: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('organizer@inbox.test');
  await server.createAccount('victim@inbox.test');
  const organizer = await server.connect('organizer@inbox.test');
  victim = await server.connect('victim@inbox.test');
  const calendarId = await defaultCalendar(organizer);
  for (let i = 0; i < INVITATIONS; i++) {
    const summary = `${i} ${'s'.repeat(SUMMARY_BYTES)}`;
    const ics = meeting({ uid: `big-${i}@inbox.test`, organizer: 'organizer@inbox.test', attendees: ['victim@inbox.test'], summary, start: `2026-12-${String(1 + (i % 28)).padStart(2, '0')}T10:00:00Z` });
    const result = await organizer.request('CalendarEvent/set', { calendarId, create: { m: { ics } } });
    expect(result.notCreated).toEqual({});
  }
}, 300_000);
afterAll(() => server.stop());

describe('inbox answers at maxAnswerBytes', { timeout: 120_000 }, () => {
  it('Inbox/changes ends its pages early and pages through every message once', async () => {
    const seen = new Set<string>();
    let sinceState: string | undefined;
    let pages = 0;
    for (;;) {
      const page = await victim.request('Inbox/changes', sinceState === undefined ? {} : { sinceState });
      pages++;
      expect(encodedSize(page)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
      for (const message of [...page.created, ...page.updated]) {
        expect(seen.has(message.id)).toBe(false);
        seen.add(message.id);
      }
      sinceState = page.newState;
      if (!page.hasMoreChanges) break;
    }
    expect(seen.size).toBe(INVITATIONS);
    expect(pages).toBeGreaterThan(1);
  });

  it('Inbox/get ends its list early with hasMore', async () => {
    const all = await victim.request('Inbox/get', {});
    expect(encodedSize(all)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
    expect(all.hasMore).toBe(true);
    expect(all.list.length).toBeGreaterThan(0);
    expect(all.list.length).toBeLessThan(INVITATIONS);
  });

  it('Inbox/get without ids reads one page of rows at most, however many messages wait', async () => {
    // Small messages (the byte budget would not end the list): a row count must.
    const organizer = await server.connect('organizer@inbox.test');
    await server.createAccount('hoarder@inbox.test');
    const hoarder = await server.connect('hoarder@inbox.test');
    const ics = meeting({ uid: 'small@inbox.test', organizer: 'organizer@inbox.test', attendees: ['hoarder@inbox.test'], summary: 'small', start: '2026-12-02T10:00:00Z' });
    expect((await organizer.request('CalendarEvent/set', { calendarId: await defaultCalendar(organizer), create: { m: { ics } } })).notCreated).toEqual({});
    const copies = DefaultLimits.maxChangesPerCall + 100;
    const db = new pg.Client({ connectionString: server.databaseUrl });
    await db.connect();
    try {
      await db.query(
        `insert into inbox_messages (account_id, kind, uid, calendar_id, event_id, sender, sequence, partstat, recurrence_id, summary, first_start, modseq, created_modseq)
         select m.account_id, m.kind, m.uid, m.calendar_id, m.event_id, m.sender, m.sequence, m.partstat, m.recurrence_id, m.summary, m.first_start, m.modseq, m.created_modseq
           from inbox_messages m join accounts a on a.id = m.account_id, generate_series(1, $1)
          where a.email = 'hoarder@inbox.test'`,
        [copies],
      );
    } finally {
      await db.end();
    }
    const page = await hoarder.request('Inbox/get', {});
    expect(page.list).toHaveLength(DefaultLimits.maxChangesPerCall);
    expect(page.hasMore).toBe(true);
    expect(encodedSize(page)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
  });
});
