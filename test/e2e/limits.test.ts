import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient, type DmciRequestError } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { helloFrame, openRaw } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 2 §5 / DESIGN §7 caps: the pre-auth deadline, the heartbeat that
 * terminates a socket missing its pong, the in-flight cap and the request
 * rate limit. Small values come from the environment, as an operator sets them.
 */
let deadline: TestServer;
let quick: TestServer;
let narrow: TestServer;

beforeAll(async () => {
  [deadline, quick, narrow] = await Promise.all([
    // Nothing authenticates on this one: a short deadline must not race a handshake under load.
    startTestServer({ DMCI_AUTH_DEADLINE_MS: '300' }),
    startTestServer({ DMCI_HEARTBEAT_MS: '400', DMCI_REQUESTS_PER_SECOND: '1', DMCI_REQUEST_BURST: '3', DMCI_TRUSTED_HOSTS: '127.0.0.1/32' }),
    startTestServer({ DMCI_MAX_IN_FLIGHT: '2', DMCI_MAX_SESSIONS_PER_USER: '1' }),
  ]);
  await quick.createAccount('hank@example.com');
  await narrow.createAccount('ivan@example.com', undefined, 'global_admin');
  await narrow.createAccount('jill@example.com');
});
afterAll(() => Promise.all([deadline.stop(), quick.stop(), narrow.stop()]));

describe('limits', () => {
  it('closes a socket that never sends hello with 4003 after the auth deadline', async () => {
    const socket = await openRaw(deadline.url);
    const closed = await socket.closed;
    expect(closed.code).toBe(CloseCode.AUTH_TIMEOUT);
    expect(socket.frames).toEqual([expect.objectContaining({ type: 'error', code: 'AUTH_TIMEOUT' })]);
  });

  it('terminates a client that does not answer pings, and keeps one that does', async () => {
    const polite = await quick.connect('hank@example.com');
    const deaf = await openRaw(quick.url, { autoPong: false });
    // Counted from the start: under load the only ping may come before the welcome.
    let pings = 0;
    deaf.ws.on('ping', () => pings++);
    deaf.send(helloFrame('hank@example.com'));
    await deaf.waitFor((f) => f.type === 'welcome');
    const closed = await deaf.closed;
    expect(closed.code).toBe(1006); // terminated: no close frame
    expect(pings).toBeGreaterThanOrEqual(1);
    // The polite client lived through the same heartbeat rounds.
    expect(polite.connected).toBe(true);
    expect(await polite.request('Core/echo', { payload: 'pong' })).toEqual({ payload: 'pong' });
    expect(polite.welcome!.heartbeatMs).toBe(400);
    await polite.close();
  });

  it('refuses requests over the rate with RATE_LIMITED and a retryAfterMs, and the session lives on', async () => {
    const client = await quick.connect('hank@example.com');
    expect(client.welcome!.limits).toMatchObject({ requestsPerSecond: 1, requestBurst: 3 });
    const outcomes = await Promise.all(Array.from({ length: 6 }, (_, i) => client.request('Core/echo', { payload: i }).then(() => undefined, (e: DmciRequestError) => e)));
    const limited = outcomes.filter((e): e is DmciRequestError => e !== undefined);
    expect(outcomes.slice(0, 3)).toEqual([undefined, undefined, undefined]);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    for (const error of limited) {
      expect(error.code).toBe('RATE_LIMITED');
      expect(error.retryAfterMs).toBeGreaterThan(0);
      expect(error.retryAfterMs).toBeLessThanOrEqual(1000);
    }
    expect(client.connected).toBe(true);
    await client.close();
  });

  it('refuses requests beyond the in-flight cap with TOO_MANY_IN_FLIGHT, and the session lives on', async () => {
    const client = await narrow.connect('ivan@example.com');
    expect(client.welcome!.limits.maxInFlight).toBe(2);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => client.request('Admin/accountList', {}).then(() => 'ok', (e: DmciRequestError) => e.code)));
    expect(outcomes.filter((o) => o === 'ok').length).toBeGreaterThanOrEqual(2);
    expect(outcomes).toContain('TOO_MANY_IN_FLIGHT');
    expect(outcomes.filter((o) => o !== 'ok' && o !== 'TOO_MANY_IN_FLIGHT')).toEqual([]);
    expect((await client.request('Admin/accountList', {})).accounts.map((a) => a.email)).toEqual(['ivan@example.com', 'jill@example.com']);
    await client.close();
  });

  it('refuses a session over DMCI_MAX_SESSIONS_PER_USER with 4010, without burning the resume token it presented', async () => {
    const first = await narrow.connect('jill@example.com');
    const token = first.welcome!.resumeToken;
    const second = new DmciClient({ url: narrow.url, resumeToken: token });
    await expect(second.connect()).rejects.toMatchObject({ closeCode: CloseCode.TOO_MANY_SESSIONS, errorCode: 'TOO_MANY_SESSIONS' });
    await first.close();
    const resumed = new DmciClient({ url: narrow.url, resumeToken: token });
    expect((await resumed.connect()).account.email).toBe('jill@example.com');
    await resumed.close();
  });
});
