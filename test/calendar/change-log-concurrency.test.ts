import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from './helpers.ts';
import { decodeCursor } from '../../server/sync/state-token.ts';

/**
 * DESIGN §4's ordering rule under load: many writers commit concurrently
 * into ONE calendar while a reader follows CalendarEvent/changes in small
 * pages. When the writers are done and the reader has caught up, its replica
 * must equal the table exactly: a skipped commit would leave a stale or
 * missing version.
 */

const WRITERS = 8;
const OPS_PER_WRITER = 50;

let server: TestServer;
let db: Db;

beforeAll(async () => {
  server = await startTestServer({ DMCI_DB_POOL_SIZE: '16', DMCI_REQUESTS_PER_SECOND: '10000', DMCI_REQUEST_BURST: '10000' });
  db = openTestDb(server.databaseUrl);
  await server.createAccount('writer@example.com');
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

function random(seed: number): () => number {
  let s = seed;
  return () => {
    s = (s * 1103515245 + 12345) % 2147483648;
    return s / 2147483648;
  };
}

describe('the change log under concurrent writers', () => {
  it(`keeps a following reader exact through ${WRITERS} writers × ${OPS_PER_WRITER} ops on one calendar`, async () => {
    const writers = await Promise.all(Array.from({ length: WRITERS }, () => server.connect('writer@example.com')));
    const reader = await server.connect('writer@example.com');
    const calendarId = await defaultCalendarId(reader);

    const replica = new Map<string, number>();
    let state: string | undefined;
    let lastModseq = -1;
    let done = false;
    let reads = 0;
    const follow = async () => {
      for (;;) {
        // Only a read that STARTED after the writers finished may end the loop.
        const finalPass = done;
        const page = await reader.request('CalendarEvent/changes', { calendarId, maxChanges: 7, ...(state !== undefined ? { sinceState: state } : {}) });
        reads++;
        // A strict client: `updated` only touches objects it holds, so an object wrongly called
        // "updated" before it was ever sent would be missing at the end.
        for (const e of page.created) replica.set(e.id, e.version);
        for (const e of page.updated) if (replica.has(e.id)) replica.set(e.id, e.version);
        for (const id of page.destroyed) replica.delete(id);
        const modseq = decodeCursor(page.newState).modseq;
        expect(modseq).toBeGreaterThanOrEqual(lastModseq);
        lastModseq = modseq;
        state = page.newState;
        if (!page.hasMoreChanges && finalPass) return;
      }
    };

    const write = async (client: DmciClient, index: number) => {
      const rand = random(index + 1);
      const mine = new Map<string, { uid: string; version: number }>();
      for (let op = 0; op < OPS_PER_WRITER; op++) {
        const r = rand();
        const ids = [...mine.keys()];
        if (ids.length === 0 || r < 0.5) {
          const uid = `w${index}-${op}@test`;
          const n = 1 + Math.floor(rand() * 3);
          const create = Object.fromEntries(Array.from({ length: n }, (_, k) => [`c${k}`, { ics: simpleEvent({ uid: `${uid}-${k}`, rrule: k === 0 ? 'FREQ=WEEKLY;COUNT=5' : undefined }) }]));
          const result = await client.request('CalendarEvent/set', { calendarId, create });
          for (const c of Object.values(result.created)) mine.set(c.id, { uid: c.uid, version: c.version });
        } else if (r < 0.8) {
          const id = ids[Math.floor(rand() * ids.length)]!;
          const entry = mine.get(id)!;
          const result = await client.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: simpleEvent({ uid: entry.uid, summary: `v${op}` }), ifVersion: entry.version } } });
          expect(result.notUpdated).toEqual({});
          entry.version = result.updated[id]!.version;
        } else {
          const id = ids[Math.floor(rand() * ids.length)]!;
          const result = await client.request('CalendarEvent/set', { calendarId, destroy: [id] });
          expect(result.destroyed).toEqual([id]);
          mine.delete(id);
        }
      }
    };

    // Reads in a loop while the writers run; once `done` is set it drains to the end and returns.
    const following = follow();
    await Promise.all(writers.map((client, i) => write(client, i)));
    done = true;
    await following;

    const live = await db.selectFrom('calendar_events').select(['id', 'version']).where('calendar_id', '=', calendarId).where('deleted', '=', false).execute();
    expect(new Map(live.map((r) => [r.id, r.version]))).toEqual(replica);
    expect(reads).toBeGreaterThan(3);
    const scope = await db.selectFrom('sync_scopes').select('modseq').where('id', '=', `cal:${calendarId}`).executeTakeFirstOrThrow();
    expect(state).toBe(String(scope.modseq));
  }, 120_000);
});
