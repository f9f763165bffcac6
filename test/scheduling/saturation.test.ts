import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciRequestError, type DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, meeting } from './helpers.ts';

/**
 * What the scheduling load test met on a loaded machine (pool acquire
 * timeouts): a request that finds no pooled database connection in time is
 * answered UNAVAILABLE with retryAfterMs — it neither hangs nor becomes
 * INTERNAL — and the write holding the connection completes once it can.
 * Made deterministic with one pooled connection, held by a write waiting on
 * a row lock this test holds.
 */
let server: TestServer;
let db: Db;
let alice: DmciClient;
let bob: DmciClient;
let aliceCal: string;

beforeAll(async () => {
  server = await startTestServer({ DMCI_DB_POOL_SIZE: '1' });
  await server.createAccount('alice@busy.test');
  await server.createAccount('bob@busy.test');
  // The pool waits 10 s for a connection before UNAVAILABLE; the clients wait longer for their answer.
  alice = await server.connect('alice@busy.test', undefined, { requestTimeoutMs: 60_000 });
  bob = await server.connect('bob@busy.test', undefined, { requestTimeoutMs: 60_000 });
  aliceCal = await defaultCalendar(alice);
  db = openTestDb(server.databaseUrl);
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

describe('a saturated database pool', () => {
  it('answers UNAVAILABLE with retryAfterMs, and the waiting write commits after', { timeout: 120_000 }, async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    // The test holds Alice's calendar scope row: her write takes the server's only connection and waits for it.
    const holder = db.transaction().execute(async (trx) => {
      await sql`select modseq from sync_scopes where id = ${`cal:${aliceCal}`} for update`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    const blocked = alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'busy@busy.test', organizer: 'alice@busy.test', attendees: [] }) } } });
    let refused: unknown;
    try {
      const waiting = async () =>
        Number(
          (await sql<{ n: string }>`select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query ilike '%sync_scopes%' and pid <> pg_backend_pid()`.execute(db)).rows[0]!.n,
        );
      await expect.poll(waiting, { timeout: 60_000 }).toBe(1);
      refused = await bob.request('Calendar/get', {}).then(
        () => undefined,
        (error: unknown) => error,
      );
    } finally {
      release();
      await holder;
    }
    expect(refused).toBeInstanceOf(DmciRequestError);
    expect(refused).toMatchObject({ code: 'UNAVAILABLE', retryAfterMs: 1000 });

    const written = await blocked;
    expect(written.notCreated).toEqual({});
    expect(Object.keys(written.created)).toEqual(['m']);
    // The session lives on: the same request, sent again, is answered.
    expect((await bob.request('Calendar/get', {})).list.length).toBeGreaterThan(0);
  });
});
