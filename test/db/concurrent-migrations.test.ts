import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { withDatabase } from '../global-setup.ts';
import { dropTestDatabase } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 2 §3: migrations are safe when two nodes start at once. Two full
 * nodes start at the same moment against one EMPTY database (no template):
 * both come up and every migration ran exactly once.
 */
const name = `dmci_test_race_${process.pid}_${Date.now()}`;
const url = withDatabase(inject('pgAdminUrl'), name);
const servers: TestServer[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  await dropTestDatabase(url);
});

describe('migrations', () => {
  it('run once when two nodes start together on an empty database', async () => {
    const admin = new pg.Client({ connectionString: inject('pgAdminUrl') });
    await admin.connect();
    await admin.query(`create database ${name}`);
    await admin.end();

    servers.push(...(await Promise.all([startTestServer({ DMCI_NODE_ID: 'race-a' }, { databaseUrl: url }), startTestServer({ DMCI_NODE_ID: 'race-b' }, { databaseUrl: url })])));
    for (const server of servers) {
      const ready = await fetch(`${server.opsUrl}/readyz`);
      expect(ready.status).toBe(200);
    }

    const db = new pg.Client({ connectionString: url });
    await db.connect();
    const { rows } = await db.query<{ name: string; n: number }>('select name, count(*)::int as n from kysely_migration group by name order by name');
    await db.end();
    expect(rows).toEqual(Object.keys(migrations).sort().map((migration) => ({ name: migration, n: 1 })));

    // Both nodes work on the one schema.
    await servers[0]!.createAccount('first@race.example');
    const client = await servers[1]!.connect('first@race.example');
    expect((await client.request('Session/get', {})).node).toBe('race-b');
  });
});
