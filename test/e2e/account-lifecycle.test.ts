import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient, type DmciConnectionError } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { helloFrame, openRaw } from '../helpers/raw-socket.ts';
import { runDmci } from '../helpers/run.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 2 §7: disabling an account closes its live sessions within a second
 * and refuses new ones (over the protocol and through the `dmci` CLI while
 * the server runs); a password change revokes resume tokens and closes the
 * other sessions.
 */
let server: TestServer;
let admin: DmciClient;
const NEW_PASSWORD = 'a brand new passphrase';

beforeAll(async () => {
  server = await startTestServer({ DMCI_TRUSTED_HOSTS: '127.0.0.1/32' });
  await server.createAccount('root@example.com', DEFAULT_PASSWORD, 'global_admin');
  for (const name of ['dora', 'carl', 'pat', 'quinn', 'cora', 'rita']) await server.createAccount(`${name}@example.com`);
  admin = await server.connect('root@example.com');
});
afterAll(() => server.stop());

/** Resolves with the close code, or rejects if the session is still open after `ms`. */
function closedWithin(client: DmciClient, ms: number): Promise<number> {
  return new Promise((resolve, reject) => {
    if (!client.connected) return reject(new Error('already closed before the action'));
    const timer = setTimeout(() => reject(new Error(`session still open ${ms} ms later`)), ms);
    client.once('close', ({ code }) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

async function loginError(email: string, password = DEFAULT_PASSWORD): Promise<DmciConnectionError> {
  const client = new DmciClient({ url: server.url, login: email, password });
  return (await client.connect().then(
    () => {
      throw new Error(`${email} logged in`);
    },
    (error: unknown) => error,
  )) as DmciConnectionError;
}

async function resumeError(token: string): Promise<DmciConnectionError> {
  const client = new DmciClient({ url: server.url, resumeToken: token });
  return (await client.connect().then(
    () => {
      throw new Error('resumed');
    },
    (error: unknown) => error,
  )) as DmciConnectionError;
}

const cli = (args: string[], input?: string) => runDmci(args, { env: { DATABASE_URL: server.databaseUrl, DMCI_ARGON2_MEMORY_KIB: '1024' }, ...(input !== undefined ? { input } : {}) });

// Some tests run the dmci CLI as a child process: give them room on a busy machine.
describe('disabling an account', { timeout: 120_000 }, () => {
  it('over the protocol: live sessions close with 4005 within a second, new logins get ACCOUNT_DISABLED, enabling restores', async () => {
    const a = await server.connect('dora@example.com');
    const b = await server.connect('dora@example.com');
    const token = b.welcome!.resumeToken;
    const closes = [closedWithin(a, 1000), closedWithin(b, 1000)];
    await admin.request('Admin/accountDisable', { email: 'dora@example.com' });
    expect(await Promise.all(closes)).toEqual([CloseCode.ACCOUNT_DISABLED, CloseCode.ACCOUNT_DISABLED]);

    const refused = await loginError('dora@example.com');
    expect(refused.closeCode).toBe(CloseCode.ACCOUNT_DISABLED);
    expect(refused.errorCode).toBe('ACCOUNT_DISABLED');
    expect((await resumeError(token)).closeCode).toBe(CloseCode.AUTH_FAILED); // its tokens went with it

    const enabled = await admin.request('Admin/accountEnable', { email: 'dora@example.com' });
    expect(enabled.account.enabled).toBe(true);
    const back = await server.connect('dora@example.com');
    expect(await back.request('Core/echo', { payload: 1 })).toEqual({ payload: 1 });
    await back.close();
  });

  it('with `dmci user disable` run while the server runs: sessions close with 4005 within a second of the command', async () => {
    const a = await server.connect('carl@example.com');
    const bystander = await server.connect('cora@example.com');
    let closedAt = 0;
    const closed = new Promise<number>((resolve) => a.once('close', ({ code }) => resolve(((closedAt = Date.now()), code))));
    const result = await cli(['user', 'disable', 'carl@example.com']);
    const doneAt = Date.now();
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('account carl@example.com disabled');
    const code = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('still open a second after the command')), 1000))]);
    expect(code).toBe(CloseCode.ACCOUNT_DISABLED);
    expect(closedAt - doneAt).toBeLessThan(1000);
    expect((await loginError('carl@example.com')).errorCode).toBe('ACCOUNT_DISABLED');
    expect(bystander.connected).toBe(true);

    const enable = await cli(['user', 'enable', 'carl@example.com']);
    expect(enable.code, enable.stderr).toBe(0);
    const back = await server.connect('carl@example.com');
    expect(back.connected).toBe(true);
    await Promise.all([back.close(), bystander.close()]);
  });

  it('an admin cannot disable itself', async () => {
    await expect(admin.request('Admin/accountDisable', { email: 'root@example.com' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('changing a password', { timeout: 120_000 }, () => {
  it('Admin/accountSetPassword revokes resume tokens and closes every session with 4006', async () => {
    const a = await server.connect('pat@example.com');
    const b = await server.connect('pat@example.com');
    const token = a.welcome!.resumeToken;
    const closes = [closedWithin(a, 1000), closedWithin(b, 1000)];
    await admin.request('Admin/accountSetPassword', { email: 'pat@example.com', password: NEW_PASSWORD });
    expect(await Promise.all(closes)).toEqual([CloseCode.SESSION_REVOKED, CloseCode.SESSION_REVOKED]);
    expect((await resumeError(token)).closeCode).toBe(CloseCode.AUTH_FAILED);
    expect((await loginError('pat@example.com')).closeCode).toBe(CloseCode.AUTH_FAILED);
    const again = await server.connect('pat@example.com', NEW_PASSWORD);
    await again.close();
  });

  it('`dmci user passwd` reads the password from stdin, revokes tokens and closes sessions', async () => {
    const a = await server.connect('quinn@example.com');
    const token = a.welcome!.resumeToken;
    const closed = closedWithin(a, 30_000);
    const result = await cli(['user', 'passwd', 'quinn@example.com'], `${NEW_PASSWORD}\n`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).not.toContain(NEW_PASSWORD);
    expect(await closed).toBe(CloseCode.SESSION_REVOKED);
    expect((await resumeError(token)).closeCode).toBe(CloseCode.AUTH_FAILED);
    const again = await server.connect('quinn@example.com', NEW_PASSWORD);
    await again.close();
  });

  it("Account/changePassword closes the account's other sessions but not the caller's, and gives the caller a fresh token", async () => {
    const caller = await server.connect('rita@example.com');
    const other = await server.connect('rita@example.com');
    const otherToken = other.welcome!.resumeToken;
    const otherClosed = closedWithin(other, 1000);
    await expect(caller.request('Account/changePassword', { currentPassword: 'not it at all', newPassword: NEW_PASSWORD })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(other.connected).toBe(true);
    const { resumeToken } = await caller.request('Account/changePassword', { currentPassword: DEFAULT_PASSWORD, newPassword: NEW_PASSWORD });
    expect(await otherClosed).toBe(CloseCode.SESSION_REVOKED);
    expect((await resumeError(otherToken)).closeCode).toBe(CloseCode.AUTH_FAILED);
    // The caller is still there after the revocation check ran, and its new token works.
    await server.app.services.accounts.list({ kind: 'system' }, { limit: 1 });
    expect(caller.connected).toBe(true);
    expect(await caller.request('Core/echo', { payload: 'mine' })).toEqual({ payload: 'mine' });
    const resumed = new DmciClient({ url: server.url, resumeToken });
    expect((await resumed.connect()).account.email).toBe('rita@example.com');
    await Promise.all([resumed.close(), caller.close()]);
  });
});

describe('resume tokens', () => {
  it('a token redeemed twice at the same moment opens one session, not two', async () => {
    const first = await server.connect('cora@example.com');
    const token = first.welcome!.resumeToken;
    await first.close();
    const sockets = await Promise.all(Array.from({ length: 6 }, () => openRaw(server.url)));
    for (const socket of sockets) socket.send({ ...helloFrame('x@example.com'), auth: { method: 'resume', token } });
    await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'welcome' || f.type === 'error')));
    expect(sockets.filter((s) => s.frames.some((f) => f.type === 'welcome'))).toHaveLength(1);
    for (const socket of sockets) socket.ws.close();
  });
});
