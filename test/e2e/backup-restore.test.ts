import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { RESYNC_MODSEQ_JUMP } from '../../server/backup/restore.ts';
import { VOLATILE_TABLES } from '../../server/backup/backup-catalog.ts';
import { withDatabase } from '../global-setup.ts';
import { simpleEvent } from '../calendar/helpers.ts';
import { meeting } from '../scheduling/helpers.ts';
import { dropTestDatabase } from '../helpers/database.ts';
import { seedGal } from '../helpers/ldap.ts';
import { runDmci, type RunResult } from '../helpers/run.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 12 §6: `dmci backup` while the server runs, `dmci restore` into a new
 * database, and a connector that resumes on the restored server from the
 * state tokens (and resume token) it held before: nothing to fetch, then
 * exactly what changed since. Every table is compared row for row.
 */
let source: TestServer;
let restored: TestServer | undefined;
let dir: string;
const databases: string[] = [];
const RESTORED_DB = `dmci_restored_${process.pid}`;

beforeAll(async () => {
  source = await startTestServer();
  dir = await mkdtemp(join(tmpdir(), 'dmci-backup-'));
});
afterAll(async () => {
  await restored?.stop();
  await source?.stop();
  for (const url of databases) await dropTestDatabase(url);
  await rm(dir, { recursive: true, force: true });
});

const dmci = (args: string[], env: Record<string, string> = {}): Promise<RunResult> =>
  runDmci(['--json', ...args], { env: { DATABASE_URL: source.databaseUrl, DMCI_ARGON2_MEMORY_KIB: '1024', ...env } });

/** Every table's rows, as PostgreSQL renders them, sorted: equal means the same data. */
async function snapshot(url: string): Promise<Record<string, string[]>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = (await client.query<{ name: string }>(`select tablename as name from pg_tables where schemaname = 'public' and tablename not like 'kysely_%' order by 1`)).rows;
    const out: Record<string, string[]> = {};
    // The console's run-time tables are left out of backups by design (backup-catalog.ts); the running source keeps writing them.
    for (const { name } of tables.filter((t) => !VOLATILE_TABLES.has(t.name))) out[name] = (await client.query<{ j: string }>(`select row_to_json(t)::text as j from "${name}" t order by 1`)).rows.map((r) => r.j);
    return out;
  } finally {
    await client.end();
  }
}

describe('backup and restore', { timeout: 300_000 }, () => {
  it('round-trips everything, and a connector resumes on the restored server from its old state tokens', async () => {
    // Accounts, a shared calendar with events, a GAL with a manager chain (a self-reference) and a group.
    await source.createAccount('alice@example.com');
    await source.createAccount('bob@example.com');
    await seedGal(source.app.db, 'example.com', [
      { email: 'boss@example.com', displayName: 'The Boss', managerEmail: 'zed@example.com' },
      { email: 'zed@example.com', displayName: 'Zed Top' },
      { kind: 'group', email: 'team@example.com', displayName: 'Team', members: ['boss@example.com', 'zed@example.com'] },
      // A room: its calendar and booking policy are derived by a trigger, so the restore must not derive them twice.
      { kind: 'resource', email: 'harbour@example.com', displayName: 'Harbour' },
    ]);
    const alice = await source.connect('alice@example.com');
    const team = (await alice.request('Calendar/set', { create: { t: { name: 'Team' } } })).created.t!;
    await alice.request('Calendar/set', { update: { [team.id]: { shareWith: { 'bob@example.com': 'write' } } } });
    await alice.request('CalendarEvent/set', { calendarId: team.id, create: { a: { ics: simpleEvent({ summary: 'Kick-off' }) }, b: { ics: simpleEvent({ summary: 'Weekly', rrule: 'FREQ=WEEKLY;COUNT=5' }) } } });
    // A meeting with bob and the room: copies, inbox messages and a booking.
    const ownCalendar = (await alice.request('Calendar/get', {})).list.find((c) => c.isDefault)!.id;
    const invited = await alice.request('CalendarEvent/set', {
      calendarId: ownCalendar,
      create: { m: { ics: meeting({ uid: 'restore-meeting@example.com', organizer: 'alice@example.com', start: new Date(Date.now() + 86_400_000).toISOString(), attendees: ['bob@example.com', { email: 'harbour@example.com', cutype: 'ROOM' }] }) } },
    });
    expect(invited.notCreated).toEqual({});
    // The connector's sync state before the backup.
    const calendars = await alice.request('Calendar/changes', {});
    const events = await alice.request('CalendarEvent/changes', { calendarId: team.id });
    let gal = await alice.request('Directory/changes', {});
    while (gal.hasMoreChanges) gal = await alice.request('Directory/changes', { sinceState: gal.newState });
    const resumeToken = alice.welcome!.resumeToken;
    await alice.close();

    const file = join(dir, 'dmci.backup');
    const backup = await dmci(['backup', file]); // the server is running
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout)).toMatchObject({ file, tables: expect.any(Number), rows: expect.any(Number) });

    const restore = await dmci(['restore', file, '--database', RESTORED_DB]);
    const restoredUrl = withDatabase(inject('pgAdminUrl'), RESTORED_DB);
    databases.push(restoredUrl);
    expect(restore.code, restore.stderr).toBe(0);
    expect(await snapshot(restoredUrl)).toEqual(await snapshot(source.databaseUrl));

    // Restoring over data is refused, and changes nothing.
    const again = await dmci(['restore', file, '--database', RESTORED_DB]);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stderr).error.message).toMatch(/not empty/);

    await source.stop();
    restored = await startTestServer({}, { databaseUrl: restoredUrl });
    // The resume token still works: the session picks up where it was.
    const resumed = new DmciClient({ url: restored.url, resumeToken });
    expect((await resumed.connect()).account.email).toBe('alice@example.com');
    expect(await resumed.request('Calendar/changes', { sinceState: calendars.newState })).toMatchObject({ created: [], updated: [], destroyed: [], newState: calendars.newState });
    expect(await resumed.request('CalendarEvent/changes', { calendarId: team.id, sinceState: events.newState })).toMatchObject({ created: [], updated: [], destroyed: [], newState: events.newState });
    expect(await resumed.request('Directory/changes', { sinceState: gal.newState })).toMatchObject({ created: [], updated: [], destroyed: [], newState: gal.newState });
    // New writes continue from the restored counters: the old state sees exactly them.
    const added = await resumed.request('CalendarEvent/set', { calendarId: team.id, create: { c: { ics: simpleEvent({ summary: 'After restore' }) } } });
    const delta = await resumed.request('CalendarEvent/changes', { calendarId: team.id, sinceState: events.newState });
    expect(delta.created.map((e) => e.id)).toEqual([added.created.c!.id]);
    // The grant came back: bob still writes to alice's calendar.
    const bob = await restored.connect('bob@example.com', DEFAULT_PASSWORD);
    const bobs = await bob.request('Calendar/get', {});
    expect(bobs.list.find((c) => c.id === team.id)).toBeDefined();
  });

  it('with --resync, every old state token gets CANNOT_CALCULATE_CHANGES and a fresh sync works', async () => {
    const name = `${RESTORED_DB}_r`;
    const url = withDatabase(inject('pgAdminUrl'), name);
    databases.push(url);
    const result = await dmci(['restore', join(dir, 'dmci.backup'), '--database', name, '--resync'], { DATABASE_URL: withDatabase(inject('pgAdminUrl'), 'postgres') });
    expect(result.code, result.stderr).toBe(0);
    const server = await startTestServer({}, { databaseUrl: url });
    try {
      const alice = await server.connect('alice@example.com');
      const team = (await alice.request('Calendar/get', {})).list.find((c) => c.name === 'Team')!;
      const fresh = await alice.request('CalendarEvent/changes', { calendarId: team.id });
      expect(fresh.created).toHaveLength(2);
      await expect(alice.call('CalendarEvent/changes', { calendarId: team.id, sinceState: String(Number(fresh.newState) - RESYNC_MODSEQ_JUMP) })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
      await expect(alice.call('Calendar/changes', { sinceState: '1' })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
      expect(await alice.request('CalendarEvent/changes', { calendarId: team.id, sinceState: fresh.newState })).toMatchObject({ created: [], newState: fresh.newState });
      let gal = await alice.request('Directory/changes', {});
      while (gal.hasMoreChanges) gal = await alice.request('Directory/changes', { sinceState: gal.newState });
      expect(await alice.request('Directory/changes', { sinceState: gal.newState })).toMatchObject({ created: [], updated: [], destroyed: [] });
    } finally {
      await server.stop();
    }
  });

  it('refuses a truncated or foreign file and leaves the target empty', async () => {
    const file = join(dir, 'dmci.backup');
    const lines = gunzipSync(await readFile(file)).toString().split('\n');
    const truncated = join(dir, 'truncated.backup');
    await writeFile(truncated, gzipSync(lines.slice(0, -3).join('\n') + '\n'));
    const name = `${RESTORED_DB}_t`;
    databases.push(withDatabase(inject('pgAdminUrl'), name));
    const result = await dmci(['restore', truncated, '--database', name], { DATABASE_URL: withDatabase(inject('pgAdminUrl'), 'postgres') });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stderr).error.message).toMatch(/incomplete/);
    const empty = await snapshot(withDatabase(inject('pgAdminUrl'), name));
    expect(Object.values(empty).every((rows) => rows.length === 0)).toBe(true);

    const foreign = join(dir, 'foreign.backup');
    await writeFile(foreign, gzipSync('{"hello":"world"}\n'));
    const refused = await dmci(['restore', foreign, '--database', name], { DATABASE_URL: withDatabase(inject('pgAdminUrl'), 'postgres') });
    expect(JSON.parse(refused.stderr).error.message).toBe('not a dmci backup file');
  });

  it('restores into an empty embedded data directory', async () => {
    const dataDir = join(dir, 'fresh');
    const env = { DATABASE_URL: '', DMCI_DATA_DIR: dataDir };
    const result = await dmci(['restore', join(dir, 'dmci.backup')], env);
    expect(result.code, result.stderr).toBe(0);
    const users = await dmci(['user', 'list'], env);
    expect(users.code, users.stderr).toBe(0);
    expect(JSON.parse(users.stdout).accounts.map((a: { email: string }) => a.email).sort()).toEqual(['alice@example.com', 'bob@example.com']);
  });
});
