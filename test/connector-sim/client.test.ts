import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient, DmciConnectionError } from '../../connector-sim/client.ts';
import { CloseCode, type WelcomeFrame } from '../../protocol/index.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/** The connector library's own promises: reconnect with the resume token, request timeouts, final close codes. */
let server: TestServer;
let admin: DmciClient;

beforeAll(async () => {
  server = await startTestServer({ DMCI_TRUSTED_HOSTS: '127.0.0.1/32' });
  await server.createAccount('kim@example.com');
  await server.createAccount('lee@example.com');
  await server.createAccount('boss@example.com', DEFAULT_PASSWORD, 'global_admin');
  admin = await server.connect('boss@example.com');
});
afterAll(() => server.stop());

async function resumeCount(): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('dmci_auth_successes_total{method="resume"} '));
  return line ? Number(line.split(' ')[1]) : 0;
}

describe('DmciClient', () => {
  it('comes back by itself after the connection drops, authenticating with its resume token', async () => {
    const client = new DmciClient({ url: server.url, login: 'kim@example.com', password: DEFAULT_PASSWORD, reconnect: true, reconnectMinDelayMs: 20, reconnectMaxDelayMs: 200 });
    const first = await client.connect();
    const resumesBefore = await resumeCount();
    const reconnecting = new Promise<{ attempt: number; delayMs: number }>((resolve) => client.once('reconnecting', resolve));
    const welcomed = new Promise<WelcomeFrame>((resolve) => client.once('welcome', resolve));
    (client as unknown as { ws: { terminate(): void } }).ws.terminate(); // the network drops
    expect((await reconnecting).attempt).toBe(1);
    const second = await welcomed;
    expect(second.sessionId).not.toBe(first.sessionId);
    expect(second.resumeToken).not.toBe(first.resumeToken);
    expect(await resumeCount()).toBe(resumesBefore + 1);
    expect(await client.request('Core/echo', { payload: 'back' })).toEqual({ payload: 'back' });
    await client.close();
  });

  it('does not reconnect after a final close (account disabled)', async () => {
    const client = new DmciClient({ url: server.url, login: 'lee@example.com', password: DEFAULT_PASSWORD, reconnect: true, reconnectMinDelayMs: 20 });
    await client.connect();
    let reconnects = 0;
    client.on('reconnecting', () => reconnects++);
    const closed = new Promise<number>((resolve) => client.once('close', ({ code }) => resolve(code)));
    await admin.request('Admin/accountDisable', { email: 'lee@example.com' });
    expect(await closed).toBe(CloseCode.ACCOUNT_DISABLED);
    await admin.request('Admin/accountEnable', { email: 'lee@example.com' });
    await admin.request('Core/echo', {}); // a round trip: a reconnect would have been scheduled by now
    expect(reconnects).toBe(0);
    expect(client.connected).toBe(false);
  });

  it('rejects a request that gets no response within its timeout, and rejects requests when not connected', async () => {
    const client = await server.connect('kim@example.com');
    const locker = new pg.Client({ connectionString: server.databaseUrl });
    await locker.connect();
    await locker.query('begin');
    await locker.query(`select 1 from accounts where email = 'kim@example.com' for update`);
    try {
      const slow = admin.request('Admin/accountUpdate', { email: 'kim@example.com', displayName: 'Kim' }, { timeoutMs: 150 });
      await expect(slow).rejects.toThrow(/no response within 150 ms/);
    } finally {
      await locker.query('rollback');
      await locker.end();
    }
    await client.close();
    await expect(client.request('Core/echo', {})).rejects.toBeInstanceOf(DmciConnectionError);
  });
});
