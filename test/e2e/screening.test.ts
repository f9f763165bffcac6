import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient, type DmciConnectionError } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { helloFrame, openRaw } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * DESIGN §7: failed logins from one address block it (the upgrade is refused,
 * and a socket that was already open gets BLOCKED on its hello); trusted
 * hosts are exempt; the static IP screen refuses the upgrade with 403.
 */
let screened: TestServer;
let trusted: TestServer;
let denying: TestServer;

beforeAll(async () => {
  [screened, trusted, denying] = await Promise.all([
    startTestServer({ DMCI_SCREEN_FAILURES: '3' }),
    startTestServer({ DMCI_SCREEN_FAILURES: '3', DMCI_TRUSTED_HOSTS: '127.0.0.1/32' }),
    startTestServer({ DMCI_IP_DENY: '127.0.0.1' }),
  ]);
  await Promise.all([screened.createAccount('sam@example.com'), trusted.createAccount('tess@example.com'), denying.createAccount('dan@example.com')]);
});
afterAll(() => Promise.all([screened.stop(), trusted.stop(), denying.stop()]));

async function failLogin(server: TestServer, email: string): Promise<DmciConnectionError> {
  const client = new DmciClient({ url: server.url, login: email, password: 'not the password' });
  return (await client.connect().then(
    () => {
      throw new Error('logged in with a wrong password');
    },
    (e: unknown) => e,
  )) as DmciConnectionError;
}

describe('failed-login screening', () => {
  it('blocks an address after DMCI_SCREEN_FAILURES failures: upgrades refused, a pending hello gets BLOCKED (4011)', async () => {
    const early = await openRaw(screened.url); // connected before the block, hello not yet sent
    for (let i = 0; i < 3; i++) expect((await failLogin(screened, 'sam@example.com')).closeCode).toBe(CloseCode.AUTH_FAILED);

    const refused = await failLogin(screened, 'sam@example.com');
    expect(refused.message).toContain('HTTP 429');
    // Even the right password is refused while blocked.
    await expect(new DmciClient({ url: screened.url, login: 'sam@example.com', password: 'correct horse battery staple' }).connect()).rejects.toThrow(/HTTP 429/);

    early.send(helloFrame('sam@example.com'));
    const closed = await early.closed;
    expect(closed.code).toBe(CloseCode.BLOCKED);
    const error = early.frames.find((f) => f.type === 'error');
    expect(error).toMatchObject({ code: 'BLOCKED', retryAfterMs: expect.any(Number) });
    expect(error!.retryAfterMs as number).toBeGreaterThan(0);

    // Another address is not blocked.
    const other = new DmciClient({ url: screened.url, login: 'sam@example.com', password: 'correct horse battery staple', localAddress: '127.0.0.2' });
    await other.connect();
    await other.close();
    const metrics = await (await fetch(`${screened.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/dmci_auth_failures_total\{reason="blocked"\} [1-9]/);
  });

  it('counts rapid reconnects that never say hello as failures', async () => {
    const address = { localAddress: '127.0.0.9' };
    for (let i = 0; i < 3; i++) {
      const socket = await openRaw(screened.url, address);
      socket.ws.close();
      await socket.closed;
    }
    await expect(openRaw(screened.url, address)).rejects.toThrow('HTTP 429');
  });

  it('exempts trusted hosts: failures never block them', async () => {
    for (let i = 0; i < 6; i++) expect((await failLogin(trusted, 'tess@example.com')).closeCode).toBe(CloseCode.AUTH_FAILED);
    const client = await trusted.connect('tess@example.com');
    expect(client.connected).toBe(true);
    await client.close();
  });
});

describe('IP screen', () => {
  it('refuses a denied address before the upgrade with 403, and lets others in', async () => {
    await expect(openRaw(denying.url)).rejects.toThrow('HTTP 403');
    await expect(new DmciClient({ url: denying.url, login: 'dan@example.com', password: 'x' }).connect()).rejects.toThrow(/HTTP 403/);
    const allowed = await denying.connect('dan@example.com', undefined, { localAddress: '127.0.0.3' });
    expect(allowed.connected).toBe(true);
    await allowed.close();
  });
});
