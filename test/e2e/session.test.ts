import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient, DmciConnectionError, DmciRequestError } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  await server.createAccount('admin@example.com', undefined, 'global_admin');
});
afterAll(() => server.stop());

describe('a connector session', () => {
  it('authenticates with a password and gets a welcome naming version, limits and capabilities', async () => {
    const client = await server.connect('alice@example.com');
    expect(client.welcome).toMatchObject({
      type: 'welcome',
      version: 1,
      account: { email: 'alice@example.com', role: 'user', domain: 'example.com' },
      limits: { maxFrameBytes: 1024 * 1024 },
    });
    expect(client.welcome!.capabilities).toContain('Core');
    expect(client.welcome!.resumeToken.length).toBeGreaterThanOrEqual(40);
    await client.close();
  });

  it('serves many requests in flight on one socket, each answered by its own id', async () => {
    const client = await server.connect('alice@example.com');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => client.request('Core/echo', { payload: i })));
    expect(results.map((r) => r.payload)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await client.close();
  });

  it('answers an unknown method and bad arguments with error responses, and the session lives on', async () => {
    const client = await server.connect('alice@example.com');
    await expect(client.call('Nope/nothing')).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' });
    const error = await client.call('Core/echo', { payload: 1, extra: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DmciRequestError);
    expect((error as DmciRequestError).code).toBe('INVALID_ARGUMENTS');
    expect(await client.request('Core/echo', { payload: 'still here' })).toEqual({ payload: 'still here' });
    await client.close();
  });

  it('refuses a wrong password with AUTH_FAILED and closes with 4002', async () => {
    const client = new DmciClient({ url: server.url, login: 'alice@example.com', password: 'wrong password' });
    const error = (await client.connect().catch((e: unknown) => e)) as DmciConnectionError;
    expect(error).toBeInstanceOf(DmciConnectionError);
    expect(error.closeCode).toBe(CloseCode.AUTH_FAILED);
    expect(error.errorCode).toBe('AUTH_FAILED');
  });

  it('refuses an unknown user exactly like a wrong password', async () => {
    const client = new DmciClient({ url: server.url, login: 'nobody@example.com', password: 'whatever' });
    const error = (await client.connect().catch((e: unknown) => e)) as DmciConnectionError;
    expect(error.closeCode).toBe(CloseCode.AUTH_FAILED);
    expect(error.message).toBe('wrong login or password');
  });

  it('resumes with the token instead of the password, and the token rotates', async () => {
    const first = await server.connect('alice@example.com');
    const token = first.welcome!.resumeToken;
    await first.close();
    const resumed = new DmciClient({ url: server.url, resumeToken: token });
    const welcome = await resumed.connect();
    expect(welcome.account.email).toBe('alice@example.com');
    expect(welcome.resumeToken).not.toBe(token);
    await resumed.close();
    const reused = new DmciClient({ url: server.url, resumeToken: token });
    await expect(reused.connect()).rejects.toMatchObject({ closeCode: CloseCode.AUTH_FAILED });
  });

  it('refuses a protocol version it does not speak with 4001', async () => {
    const client = new DmciClient({ url: server.url, login: 'alice@example.com', password: 'x', versions: [99] });
    await expect(client.connect()).rejects.toMatchObject({ closeCode: CloseCode.UNSUPPORTED_VERSION });
  });

  it('answers the protocol-level ping', async () => {
    const client = await server.connect('alice@example.com');
    expect(await client.ping()).toBeGreaterThan(0);
    await client.close();
  });

  it('tells who the session is', async () => {
    const client = await server.connect('alice@example.com');
    const info = await client.request('Session/get', {});
    expect(info).toMatchObject({ sessionId: client.welcome!.sessionId, version: 1, account: { email: 'alice@example.com' } });
    await client.close();
  });
});
