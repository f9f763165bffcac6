import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { millionNilsFrame } from '../../bench/support/hostile-inputs.ts';
import { DecoderLimits, DefaultLimits, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/index.ts';
import { openRaw } from '../helpers/raw-socket.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 4: before authentication only a small hello is accepted (its
 * length is checked before decoding), no frame may hold more than
 * DecoderLimits.maxElements values, and each address has a budget of what it
 * may spend unauthenticated.
 */
let server: TestServer;
let budgeted: TestServer;

beforeAll(async () => {
  [server, budgeted] = await Promise.all([
    startTestServer({ DMCI_SCREEN_FAILURES: '100000' }),
    startTestServer({ DMCI_SCREEN_FAILURES: '100000', DMCI_PREAUTH_MAX_CONNECTIONS: '4', DMCI_PREAUTH_MAX_BYTES: '6000' }),
  ]);
  await server.createAccount('user@preauth.example');
});
afterAll(() => Promise.all([server.stop(), budgeted.stop()]));

function upgradeStatus(url: string): Promise<{ status: number; retryAfter: string | undefined }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.on('error', () => {});
    ws.once('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'] });
      res.destroy();
    });
    ws.once('open', () => {
      ws.close();
      resolve({ status: 101, retryAfter: undefined });
    });
    setTimeout(() => reject(new Error('no answer to the upgrade')), 10_000).unref();
  });
}

describe('before authentication', () => {
  it('accepts only a small hello: a larger frame is refused by its length, never decoded', async () => {
    const hello = {
      type: 'hello',
      versions: [...SUPPORTED_PROTOCOL_VERSIONS],
      client: { name: 'big', version: '1' },
      auth: { method: 'password', login: 'user@preauth.example', password: DEFAULT_PASSWORD, padding: 'x'.repeat(DefaultLimits.maxHelloBytes) },
    };
    for (const send of [(raw: Awaited<ReturnType<typeof openRaw>>) => raw.send(hello), (raw: Awaited<ReturnType<typeof openRaw>>) => raw.sendBytes(millionNilsFrame())]) {
      const raw = await openRaw(server.url);
      send(raw);
      const error = await raw.waitFor((f) => f.type === 'error');
      expect(error).toMatchObject({ code: 'POLICY_VIOLATION', message: expect.stringContaining(`at most ${DefaultLimits.maxHelloBytes} bytes`) });
      expect((await raw.closed).code).toBe(4008);
    }
  });

  it('still takes an ordinary hello', async () => {
    const client = await server.connect('user@preauth.example');
    expect(await client.request('Core/echo', { payload: 'hi' })).toEqual({ payload: 'hi' });
  });
});

describe('after authentication', () => {
  it('refuses a frame of a million empty values by counting them in the raw bytes', async () => {
    const raw = await openRaw(server.url);
    raw.send({ type: 'hello', versions: [...SUPPORTED_PROTOCOL_VERSIONS], client: { name: 't', version: '1' }, auth: { method: 'password', login: 'user@preauth.example', password: DEFAULT_PASSWORD } });
    await raw.waitFor((f) => f.type === 'welcome');
    raw.sendBytes(millionNilsFrame());
    const error = await raw.waitFor((f) => f.type === 'error');
    expect(error).toMatchObject({ code: 'PROTOCOL_ERROR', message: `a frame may hold at most ${DecoderLimits.maxElements} values in all` });
    expect((await raw.closed).code).toBe(4000);
  });
});

describe('the pre-authentication budget of an address', () => {
  it('refuses new connections past it with 429 and Retry-After, and closes sockets that spend its bytes', async () => {
    // 6,000 bytes: one 4 KiB frame fits, the second spends the budget.
    const first = await openRaw(budgeted.url);
    first.sendBytes(new Uint8Array(4000).fill(0xc0));
    expect((await first.closed).code).toBe(4000); // within the hello size but not a hello: refused when decoded
    const second = await openRaw(budgeted.url);
    second.sendBytes(new Uint8Array(4000).fill(0xc0));
    const error = await second.waitFor((f) => f.type === 'error');
    expect(error).toMatchObject({ code: 'POLICY_VIOLATION', message: expect.stringContaining('too many unauthenticated bytes') });
    const refused = await upgradeStatus(budgeted.url);
    expect(refused.status).toBe(429);
    expect(Number(refused.retryAfter)).toBeGreaterThan(0);
  });
});
