import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Graceful shutdown (issue 2 §5): stop accepting, let in-flight requests
 * finish and answer, then close every client with GOING_AWAY (4100);
 * /readyz reports not ready meanwhile. A row lock held by the test keeps one
 * request in flight for exactly as long as the test wants.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ DMCI_SHUTDOWN_GRACE_MS: '20000' });
  await server.createAccount('op@example.com', undefined, 'global_admin');
  await server.createAccount('victim@example.com');
  await server.createAccount('idle@example.com');
});
afterAll(() => server.stop());

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('graceful shutdown', () => {
  it('finishes in-flight requests, then closes clients with 4100; refuses new connections and reports not ready while draining', async () => {
    const busy = await server.connect('op@example.com');
    const idle = await server.connect('idle@example.com');
    const events: string[] = [];
    const closes = [busy, idle].map((client, i) => new Promise<number>((resolve) => client.once('close', ({ code }) => (events.push(`close ${i}`), resolve(code)))));

    const locker = new pg.Client({ connectionString: server.databaseUrl });
    await locker.connect();
    await locker.query('begin');
    await locker.query(`select 1 from accounts where email = 'victim@example.com' for update`);
    const inFlight = busy.request('Admin/accountUpdate', { email: 'victim@example.com', displayName: 'Renamed during drain' }).then((result) => {
      events.push('response');
      return result;
    });
    const database = new URL(server.databaseUrl).pathname.slice(1);
    await waitUntil('the request waits on the row lock', async () => {
      const { rows } = await locker.query(`select count(*)::int as n from pg_stat_activity where datname = $1 and wait_event_type = 'Lock'`, [database]);
      return (rows[0] as { n: number }).n > 0;
    });

    const stopped = server.app.stop();
    await waitUntil('the server drains', async () => server.app.gateway.isDraining);
    const ready = await fetch(`${server.opsUrl}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ ready: false, checks: { draining: { ok: false } } });
    await expect(new DmciClient({ url: server.url, login: 'idle@example.com', password: 'x' }).connect()).rejects.toThrow();
    await expect(idle.request('Core/echo', { payload: 1 })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(busy.connected && idle.connected).toBe(true); // nobody is closed while a request is in flight

    await locker.query('commit');
    await locker.end();
    const result = await inFlight;
    expect(result.account.displayName).toBe('Renamed during drain');
    expect(await Promise.all(closes)).toEqual([CloseCode.GOING_AWAY, CloseCode.GOING_AWAY]);
    expect(events[0]).toBe('response');
    await stopped;
  });

  it('leaves nothing running after stop: no timer of the server touches the database afterwards', async () => {
    // Every poll at its shortest, so a timer that outlives stop() fires within the wait below.
    const quick = await startTestServer({ DMCI_SCREEN_POLL_MS: '100', DMCI_POLL_INTERVAL_MS: '50' });
    await quick.app.stop();
    const linesAtStop = quick.logLines().length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(quick.logLines().slice(linesAtStop)).toEqual([]);
    await quick.stop();
  });
});
