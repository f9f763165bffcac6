import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { helloFrame, openAuthenticated, openRaw, rawRequest, type RawSocket } from '../helpers/raw-socket.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The one login guard (issue 7 item 5, issue 12): parallel guesses on one
 * address are not all evaluated, one account's success does not reset
 * another's failures, Account/changePassword is throttled like a login, the
 * failed-login delay never outlasts the handshake deadline, and the
 * per-account session cap holds under parallel logins.
 */
let server: TestServer;
let strict: TestServer;
let slow: TestServer;
let trusted: TestServer;
let delayed: TestServer;

beforeAll(async () => {
  [server, strict, slow, trusted, delayed] = await Promise.all([
    startTestServer(),
    startTestServer({ DMCI_SCREEN_FAILURES: '3' }),
    startTestServer({ DMCI_LOGIN_DELAY_MAX_MS: '15000', DMCI_AUTH_DEADLINE_MS: '1200', DMCI_SCREEN_FAILURES: '100' }),
    startTestServer({ DMCI_TRUSTED_HOSTS: '127.0.0.0/8' }),
    startTestServer({ DMCI_LOGIN_DELAY_MAX_MS: '15000' }),
  ]);
  await Promise.all([
    server.createAccount('victim@example.com'),
    delayed.createAccount('dora@example.com'),
    strict.createAccount('ann@example.com'),
    strict.createAccount('bob@example.com'),
    slow.createAccount('cleo@example.com'),
    trusted.createAccount('many@example.com'),
  ]);
}, 120_000);
afterAll(() => Promise.all([server.stop(), strict.stop(), slow.stop(), trusted.stop(), delayed.stop()]));

/** One hello on a fresh socket from `localAddress`; resolves to the close code and the error frame, if any. */
async function tryLogin(target: TestServer, login: string, password: string, localAddress: string): Promise<{ code: number; error: Record<string, unknown> | undefined }> {
  const socket = await openRaw(target.url, { localAddress });
  socket.send(helloFrame(login, password));
  const closed = await socket.closed;
  return { code: closed.code, error: socket.frames.find((f) => f.type === 'error') };
}

/** Like tryLogin, but waits out LOGIN_IN_PROGRESS refusals (the previous attempt's delay) as a client would. */
async function loginWhenFree(target: TestServer, login: string, password: string, localAddress: string): Promise<number> {
  for (;;) {
    const { code, error } = await tryLogin(target, login, password, localAddress);
    if (code !== CloseCode.LOGIN_IN_PROGRESS) return code;
    await new Promise((resolve) => setTimeout(resolve, Number(error?.retryAfterMs ?? 100)));
  }
}

describe('the login guard on the WebSocket door', () => {
  it('300 simultaneous guesses from one address are not all evaluated: the right one, sent last, does not get in', async () => {
    const localAddress = '127.0.0.20';
    const sockets: RawSocket[] = [];
    for (let i = 0; i < 300; i++) sockets.push(await openRaw(server.url, { localAddress }));
    sockets.forEach((socket, i) => socket.send(helloFrame('victim@example.com', i === sockets.length - 1 ? DEFAULT_PASSWORD : `guess ${i}`)));
    const codes = await Promise.all(sockets.map((socket) => socket.closed.then((c) => c.code)));

    expect(sockets.at(-1)!.frames.some((f) => f.type === 'welcome')).toBe(false);
    const evaluated = codes.filter((code) => code === CloseCode.AUTH_FAILED).length;
    const refused = codes.filter((code) => code === CloseCode.LOGIN_IN_PROGRESS || code === CloseCode.BLOCKED).length;
    expect(evaluated).toBeLessThanOrEqual(10);
    expect(refused).toBeGreaterThanOrEqual(290);
    const busy = sockets.flatMap((s) => s.frames).find((f) => f.type === 'error' && f.code === 'LOGIN_IN_PROGRESS');
    expect(busy).toMatchObject({ retryAfterMs: expect.any(Number) });
    // The guessing address is blocked now; another address logs in to the same account.
    await expect(openRaw(server.url, { localAddress })).rejects.toThrow('HTTP 429');
    const client = await server.connect('victim@example.com', DEFAULT_PASSWORD, { localAddress: '127.0.0.21' });
    await client.close();
  });

  it("a success for account B does not reset the failures counted for account A from the same address", async () => {
    const localAddress = '127.0.0.30';
    expect(await loginWhenFree(strict, 'ann@example.com', 'wrong 1', localAddress)).toBe(CloseCode.AUTH_FAILED);
    expect(await loginWhenFree(strict, 'ann@example.com', 'wrong 2', localAddress)).toBe(CloseCode.AUTH_FAILED);
    const bob = await strict.connect('bob@example.com', DEFAULT_PASSWORD, { localAddress });
    await bob.close();
    expect(await loginWhenFree(strict, 'ann@example.com', 'wrong 3', localAddress)).toBe(CloseCode.AUTH_FAILED);
    await expect(openRaw(strict.url, { localAddress })).rejects.toThrow('HTTP 429');
  });

  it('refuses the upgrade of a blocked address with 429 and Retry-After', async () => {
    const localAddress = '127.0.0.31';
    for (let i = 0; i < 3; i++) expect(await loginWhenFree(strict, 'ann@example.com', `wrong ${i}`, localAddress)).toBe(CloseCode.AUTH_FAILED);
    const response = await new Promise<{ status: number; retryAfter: string | undefined }>((resolve, reject) => {
      const req = httpRequest({
        host: '127.0.0.1',
        port: strict.app.port,
        localAddress,
        headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      });
      req.on('upgrade', () => reject(new Error('upgraded while blocked')));
      req.on('error', reject);
      req.end();
    });
    expect(response.status).toBe(429);
    expect(Number(response.retryAfter)).toBeGreaterThan(0);
  });

  it('answers a wrong password with AUTH_FAILED before the handshake deadline, even when the delay is longer', async () => {
    // Delays 250, 500, 1000, 2000 ms against a 1.2 s deadline: the last two are cut short, never turned into AUTH_TIMEOUT.
    for (let i = 0; i < 4; i++) expect(await loginWhenFree(slow, 'cleo@example.com', `wrong ${i}`, '127.0.0.40')).toBe(CloseCode.AUTH_FAILED);
  });
});

describe('Account/changePassword under the login guard', () => {
  it('does not evaluate parallel guesses of the current password: the right one, sent last, is refused', async () => {
    const changedAt = () => delayed.app.db.selectFrom('accounts').select('password_changed_at').where('email', '=', 'dora@example.com').executeTakeFirstOrThrow();
    const before = await changedAt();
    const socket = await openAuthenticated(delayed.url, 'dora@example.com');
    const guesses = Array.from({ length: 20 }, (_, i) => ({ currentPassword: i === 19 ? DEFAULT_PASSWORD : `guess ${i}`, newPassword: 'a brand new password' }));
    const answers = await Promise.all(guesses.map((args, i) => rawRequest(socket, `g${i}`, 'Account/changePassword', args)));
    expect(answers.at(-1)).toMatchObject({ ok: false, error: { code: 'RATE_LIMITED', retryAfterMs: expect.any(Number) } });
    const evaluated = answers.filter((a) => (a.error as { code?: string } | undefined)?.code === 'FORBIDDEN').length;
    expect(evaluated).toBe(1);
    expect(answers.filter((a) => a.ok)).toHaveLength(0);
    socket.ws.close();
    expect(await changedAt()).toEqual(before);
  });
});

describe('the session cap', () => {
  it('holds under 60 parallel logins of one account', async () => {
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, async () => {
        const client = new DmciClient({ url: trusted.url, login: 'many@example.com', password: DEFAULT_PASSWORD, requestTimeoutMs: 20_000 });
        await client.connect();
        return client;
      }),
    );
    const connected = results.filter((r): r is PromiseFulfilledResult<DmciClient> => r.status === 'fulfilled').map((r) => r.value);
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { closeCode?: number }).closeCode);
    expect(connected).toHaveLength(20);
    expect(new Set(refused)).toEqual(new Set([CloseCode.TOO_MANY_SESSIONS]));
    await Promise.all(connected.map((c) => c.close()));
  }, 60_000);
});
