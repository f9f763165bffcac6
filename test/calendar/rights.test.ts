import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { AccessRight, Grant } from '../../protocol/index.ts';
import { resolveRights } from '../../server/calendar/calendar-access.ts';
import type { Db } from '../../server/db/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from './helpers.ts';

/**
 * DESIGN §6: rights resolve in bulk (one query for N calendars, groups
 * included, the highest grant winning) and a write checks its right inside
 * the transaction that writes, so a revoke that commits first always wins.
 */

let server: TestServer;
let db: Db;
let alice: DmciClient;
let bob: DmciClient;
let admin: DmciClient;
const ids: Record<string, string> = {};

beforeAll(async () => {
  server = await startTestServer({ DMCI_POLL_INTERVAL_MS: '60000' });
  db = server.app.db;
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  admin = await server.connect('admin@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  for (const who of ['alice', 'bob']) {
    const row = await db.selectFrom('accounts').select('id').where('email', '=', `${who}@example.com`).executeTakeFirstOrThrow();
    ids[who] = row.id;
  }
});
afterAll(() => server.stop());

/** How many statements `work` sends (kysely runs every statement, raw ones included, through its plugins). */
async function countQueries<T>(work: (db: Db) => Promise<T>): Promise<{ result: T; queries: number }> {
  let queries = 0;
  const counting = db.withPlugin({
    transformQuery: (args) => {
      queries++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  });
  return { result: await work(counting), queries };
}

describe('bulk resolution', () => {
  it("resolves one viewer's rights on N calendars — direct, through nested groups, owned — in one query", async () => {
    const { entry: bobEntry } = (await admin.request('Directory/resolve', { names: ['bob@example.com'] })).results[0]!;
    const inner = (await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Inner', email: 'inner@example.com' }, memberIds: [bobEntry!.id] })).entry.id;
    await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Outer', email: 'outer@example.com' }, memberIds: [inner] });
    const created = await alice.request('Calendar/set', { create: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`c${i}`, { name: `Shared ${i}` }])) });
    const calendars = Object.values(created.created).map((c) => c.id);
    // Every third calendar: read to Bob directly, write to Outer (Bob through Inner) — write wins; every third: details to Inner; the rest: nothing.
    for (const [i, id] of calendars.entries()) {
      const shareWith: ShareWith = i % 3 === 0 ? { 'bob@example.com': 'read', 'outer@example.com': { right: 'write', delegate: true, privateAccess: true } } : i % 3 === 1 ? { 'inner@example.com': 'details' } : {};
      const result = await alice.request('Calendar/set', { update: { [id]: { shareWith } } });
      expect(result.notUpdated).toEqual({});
    }
    const bobsDefault = await defaultCalendarId(bob);
    const { result, queries } = await countQueries((counting) => resolveRights(counting, ids.bob!, { calendarIds: [...calendars, bobsDefault] }));
    expect(queries).toBe(1);
    expect(result.get(bobsDefault)).toMatchObject({ right: 'owner', mayReadPrivate: true });
    for (const [i, id] of calendars.entries()) {
      const access = result.get(id);
      if (i % 3 === 0) expect(access).toMatchObject({ right: 'write', delegate: true, mayReadPrivate: true, lens: { public: 'full', private: 'full' } });
      else if (i % 3 === 1) expect(access).toMatchObject({ right: 'details', delegate: false, mayReadPrivate: false, lens: { public: 'details', private: 'time' } });
      else expect(access).toBeUndefined();
    }
  });

  it("resolves N owners' default calendars in one query", async () => {
    const owners: string[] = [];
    for (let i = 0; i < 12; i++) {
      await server.createAccount(`owner${i}@example.com`);
      owners.push((await db.selectFrom('accounts').select('id').where('email', '=', `owner${i}@example.com`).executeTakeFirstOrThrow()).id);
    }
    const first = await server.connect('owner0@example.com');
    await first.request('Calendar/set', { update: { [await defaultCalendarId(first)]: { shareWith: { 'bob@example.com': 'freebusy' } } } });
    const { result, queries } = await countQueries((counting) => resolveRights(counting, ids.bob!, { defaultCalendarsOf: [...owners, ids.bob!] }));
    expect(queries).toBe(1);
    expect([...result.values()].map((a) => [a.calendar.owner_email, a.right]).sort()).toEqual([
      ['bob@example.com', 'owner'],
      ['owner0@example.com', 'freebusy'],
    ]);
  });
});

/** Holds the calendar's events-scope row lock, as a long writer would, until released. */
async function holdScopeLock(calendarId: string): Promise<{ release: () => Promise<void> }> {
  let locked!: () => void;
  let release!: () => void;
  const isLocked = new Promise<void>((resolve) => (locked = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const done = db.transaction().execute(async (trx) => {
    await sql`select id from sync_scopes where id = ${`cal:${calendarId}`} for update`.execute(trx);
    locked();
    await released;
  });
  await Promise.race([isLocked, done]);
  return {
    release: async () => {
      release();
      await done;
    },
  };
}

async function lockWaiters(): Promise<number> {
  const row = await sql<{ n: number }>`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db);
  return row.rows[0]!.n;
}

type ShareWith = Record<string, AccessRight | Grant | null>;

describe('a revoke racing a write', () => {
  async function sharedCalendar(name: string, shareWith: ShareWith): Promise<string> {
    const { created } = await alice.request('Calendar/set', { create: { c: { name } } });
    const id = created.c!.id;
    await alice.request('Calendar/set', { update: { [id]: { shareWith } } });
    return id;
  }

  it('a write already waiting for the calendar when a revoke commits is refused', async () => {
    const calendarId = await sharedCalendar('Race 1', { 'bob@example.com': 'write' });
    const hold = await holdScopeLock(calendarId);
    // Bob's write starts first and waits on the scope lock (after any check made before its transaction).
    const write = bob.request('CalendarEvent/set', { calendarId, create: { x: { ics: simpleEvent({ summary: 'written after the revoke' }) } } }).then(
      (r) => Object.keys(r.created).length === 1,
      () => false,
    );
    await expect.poll(lockWaiters).toBe(1);
    // The revoke either queues behind the same lock or (were rights checked before the transaction) commits at once.
    let revokeCommitted = false;
    const revoke = alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@example.com': null } } } }).then((r) => {
      revokeCommitted = true;
      return r;
    });
    await expect.poll(async () => revokeCommitted || (await lockWaiters()) === 2).toBe(true);
    const revokeCommittedFirst = revokeCommitted;
    await hold.release();
    const [written, revoked] = await Promise.all([write, revoke]);
    expect(revoked.notUpdated).toEqual({});
    // The invariant: a revoke that committed while the write was still waiting wins.
    if (revokeCommittedFirst) expect(written).toBe(false);
    else expect(written).toBe(true); // the write held its place first and committed before the revoke
  });

  it('a revoke that takes the lock first wins against a write queued behind it — for a grant and for a group membership', async () => {
    const { entry: bobEntry } = (await admin.request('Directory/resolve', { names: ['bob@example.com'] })).results[0]!;
    const crew = (await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Crew', email: 'crew@example.com' }, memberIds: [bobEntry!.id] })).entry.id;
    const direct = await sharedCalendar('Race 2', { 'bob@example.com': 'write' });
    const viaGroup = await sharedCalendar('Race 3', { 'crew@example.com': 'write' });
    const cases = [
      { calendarId: direct, revoke: () => alice.request('Calendar/set', { update: { [direct]: { shareWith: { 'bob@example.com': null } } } }) },
      { calendarId: viaGroup, revoke: () => admin.request('Admin/directorySetMembers', { id: crew, memberIds: [] }) },
    ];
    for (const { calendarId, revoke: start } of cases) {
      const hold = await holdScopeLock(calendarId);
      const revoke = start();
      await expect.poll(lockWaiters).toBe(1);
      const write = bob.request('CalendarEvent/set', { calendarId, create: { x: { ics: simpleEvent({ summary: 'too late' }) } } }).then(
        () => 'written',
        (error: { code: string }) => error.code,
      );
      await expect.poll(lockWaiters).toBe(2);
      await hold.release();
      await revoke;
      expect(await write).toBe('NOT_FOUND');
      const events = await db.selectFrom('calendar_events').select('id').where('calendar_id', '=', calendarId).execute();
      expect(events).toEqual([]);
    }
  });
});
