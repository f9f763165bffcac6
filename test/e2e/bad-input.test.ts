import { encode } from '@msgpack/msgpack';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode, DecoderLimits, encodeFrame } from '../../protocol/index.ts';
import { helloFrame, openAuthenticated, openRaw, rawRequest, type RawSocket } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * DESIGN §3 / issue 2 §6: every kind of bad input gets its documented close
 * code or error response; the server stays up, a bystander session on the
 * same server is untouched and still served, and nothing is written.
 */
let server: TestServer;
let bystander: DmciClient;

beforeAll(async () => {
  // Pre-auth violations count as failed logins; this file is about framing, not screening.
  server = await startTestServer({ DMCI_SCREEN_FAILURES: '100000' });
  await server.createAccount('mallory@example.com');
  await server.createAccount('bystander@example.com');
  bystander = await server.connect('bystander@example.com');
});
afterAll(() => server.stop());

async function counts() {
  // Resume tokens are left out: each handshake in these tests writes one, by design.
  const row = await sql<{ accounts: number; domains: number; updated: string; scopes: number }>`
    select (select count(*)::int from accounts) as accounts, (select count(*)::int from domains) as domains,
           (select max(updated_at)::text from accounts) as updated, (select count(*)::int from sync_scopes) as scopes`.execute(server.app.db);
  return row.rows[0]!;
}

/** Runs `attack` and checks the aftermath every case shares. */
async function expectContained(attack: () => Promise<void>): Promise<void> {
  const before = await counts();
  const bystanderSession = bystander.welcome!.sessionId;
  await attack();
  expect(await counts()).toEqual(before);
  expect(bystander.connected).toBe(true);
  expect(bystander.welcome!.sessionId).toBe(bystanderSession);
  expect(await bystander.request('Core/echo', { payload: 'still served' })).toEqual({ payload: 'still served' });
  const health = await fetch(`${server.opsUrl}/healthz`);
  expect(health.status).toBe(200);
}

async function expectClosedWith(socket: RawSocket, code: number, errorCode?: string): Promise<void> {
  const closed = await socket.closed;
  expect(closed.code).toBe(code);
  if (errorCode) expect(socket.frames.find((f) => f.type === 'error')).toMatchObject({ type: 'error', code: errorCode });
}

function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { inner: value };
  return value;
}

describe('bad input', () => {
  it('a frame that is not msgpack closes with 4000 PROTOCOL_ERROR', () =>
    expectContained(async () => {
      const socket = await openAuthenticated(server.url, 'mallory@example.com');
      socket.sendBytes(Buffer.from([0xc1, 0x00, 0xff]));
      await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
    }));

  it('a truncated msgpack frame closes with 4000', () =>
    expectContained(async () => {
      const socket = await openAuthenticated(server.url, 'mallory@example.com');
      const bytes = encodeFrame({ type: 'request', id: 1, method: 'Core/echo', args: { payload: 'x'.repeat(50) } });
      socket.sendBytes(bytes.subarray(0, bytes.length - 10));
      await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
    }));

  it('msgpack that is not a map (array, string, nil, binary) closes with 4000', () =>
    expectContained(async () => {
      for (const value of [[1, 2, 3], 'request', null, new Uint8Array([1, 2])]) {
        const socket = await openAuthenticated(server.url, 'mallory@example.com');
        socket.sendBytes(encode(value));
        await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
        expect(String(socket.frames.find((f) => f.type === 'error')?.message)).toContain('must be a msgpack map');
      }
    }));

  it('a map that fails the envelope schema closes with 4000 and says which field', () =>
    expectContained(async () => {
      const cases: unknown[] = [
        { type: 'request', id: 1 },
        { type: 'bogus' },
        { type: 'request', id: -1, method: 'Core/echo' },
        { type: 'request', id: 1, method: 'Core/echo', args: [1] },
        { type: 'request', id: 1, method: 'Core/echo', extra: true },
        { id: 1, method: 'Core/echo' },
      ];
      for (const frame of cases) {
        const socket = await openAuthenticated(server.url, 'mallory@example.com');
        socket.send(frame);
        await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
        expect(String(socket.frames.find((f) => f.type === 'error')?.message)).toMatch(/^invalid frame: /);
      }
    }));

  it('a text frame closes with 4000', () =>
    expectContained(async () => {
      const socket = await openAuthenticated(server.url, 'mallory@example.com');
      socket.sendBytes('{"type":"request","id":1,"method":"Core/echo"}');
      await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
    }));

  it('a frame over maxPayload (1 MiB) closes with 1009, before or after authentication', () =>
    expectContained(async () => {
      const authenticated = await openAuthenticated(server.url, 'mallory@example.com');
      authenticated.sendBytes(Buffer.alloc(1024 * 1024 + 1, 0x90));
      expect((await authenticated.closed).code).toBe(1009);
      const anonymous = await openRaw(server.url);
      anonymous.sendBytes(Buffer.alloc(2 * 1024 * 1024, 0x90));
      expect((await anonymous.closed).code).toBe(1009);
    }));

  it('an unknown method gets UNKNOWN_METHOD and the session lives on', () =>
    expectContained(async () => {
      const socket = await openAuthenticated(server.url, 'mallory@example.com');
      const response = await rawRequest(socket, 1, 'Nope/nothing', {});
      expect(response).toMatchObject({ type: 'response', id: 1, ok: false, error: { code: 'UNKNOWN_METHOD' } });
      const proto = await rawRequest(socket, 2, '__proto__', {});
      expect(proto).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
      expect(await rawRequest(socket, 3, 'Core/echo', { payload: 1 })).toMatchObject({ ok: true, result: { payload: 1 } });
      expect(socket.isOpen()).toBe(true);
      socket.ws.close();
    }));

  it('bad arguments get INVALID_ARGUMENTS with per-field details, and nothing is written', () =>
    expectContained(async () => {
      const admin = await openAuthenticated(server.url, 'mallory@example.com');
      const response = await rawRequest(admin, 'a', 'Admin/accountCreate', { email: 'not an email', displayName: '', password: 'short', surprise: 1 });
      expect(response).toMatchObject({ ok: false, error: { code: 'INVALID_ARGUMENTS' } });
      const details = (response.error as { details: Array<{ path: string; message: string }> }).details;
      expect(details.map((d) => d.path)).toEqual(expect.arrayContaining(['email', 'displayName', 'password']));
      expect(await rawRequest(admin, 'b', 'Core/echo', { payload: 2 })).toMatchObject({ ok: true });
      admin.ws.close();
    }));

  it('a request before authentication closes with 4004', () =>
    expectContained(async () => {
      const socket = await openRaw(server.url);
      socket.send({ type: 'request', id: 1, method: 'Admin/domainCreate', args: { name: 'evil.example' } });
      await expectClosedWith(socket, CloseCode.NOT_AUTHENTICATED, 'NOT_AUTHENTICATED');
      const pinger = await openRaw(server.url);
      pinger.send({ type: 'ping', id: 1 });
      await expectClosedWith(pinger, CloseCode.NOT_AUTHENTICATED);
    }));

  it('a second hello closes the socket: 4000 after the welcome, 4004 while the first is checked', () =>
    expectContained(async () => {
      const open = await openAuthenticated(server.url, 'mallory@example.com');
      open.send(helloFrame('mallory@example.com'));
      await expectClosedWith(open, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
      const racing = await openRaw(server.url);
      racing.send(helloFrame('mallory@example.com'));
      racing.send(helloFrame('bystander@example.com'));
      await expectClosedWith(racing, CloseCode.NOT_AUTHENTICATED);
      expect(racing.frames.some((f) => f.type === 'welcome')).toBe(false);
    }));

  it(`nesting deeper than ${DecoderLimits.maxDepth} levels closes with 4000`, () =>
    expectContained(async () => {
      const socket = await openAuthenticated(server.url, 'mallory@example.com');
      // Within the limit: served.
      expect(await rawRequest(socket, 1, 'Core/echo', { payload: nested(DecoderLimits.maxDepth - 4) })).toMatchObject({ ok: true });
      socket.send({ type: 'request', id: 2, method: 'Core/echo', args: { payload: nested(DecoderLimits.maxDepth + 1) } });
      await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
      expect(String(socket.frames.find((f) => f.type === 'error')?.message)).toContain('nest');
      const deep = await openAuthenticated(server.url, 'mallory@example.com');
      // Far deeper than any encoder would write: a request whose payload is 500,000 nested arrays.
      const head = encodeFrame({ type: 'request', id: 3, method: 'Core/echo', args: { payload: 0 } });
      deep.sendBytes(Buffer.concat([head.subarray(0, head.length - 1), Buffer.alloc(500_000, 0x91), Buffer.from([0x90])]));
      await expectClosedWith(deep, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
    }));

  it('strings, binaries, arrays and maps over the decoder limits close with 4000', () =>
    expectContained(async () => {
      const tooLong: unknown[] = [
        'x'.repeat(DecoderLimits.maxStrLength + 1),
        new Uint8Array(DecoderLimits.maxBinLength + 1),
        new Array(DecoderLimits.maxArrayLength + 1).fill(0),
        Object.fromEntries(Array.from({ length: DecoderLimits.maxMapLength + 1 }, (_, i) => [`k${i}`, i])),
      ];
      for (const payload of tooLong) {
        const socket = await openAuthenticated(server.url, 'mallory@example.com');
        socket.send({ type: 'request', id: 1, method: 'Core/echo', args: { payload } });
        await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
      }
      // A declared length far beyond the bytes sent (a str32 header claiming 4 GiB) is refused, not allocated.
      const liar = await openAuthenticated(server.url, 'mallory@example.com');
      liar.sendBytes(Buffer.from([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xdb, 0xff, 0xff, 0xff, 0xff, 0x41]));
      await expectClosedWith(liar, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
    }));

  it('__proto__ keys close with 4000 and pollute nothing', () =>
    expectContained(async () => {
      for (const json of ['{"type":"request","id":1,"method":"Core/echo","args":{"__proto__":{"polluted":true}}}', '{"__proto__":{"type":"request"},"type":"ping"}']) {
        const socket = await openAuthenticated(server.url, 'mallory@example.com');
        socket.sendBytes(encode(JSON.parse(json)));
        await expectClosedWith(socket, CloseCode.PROTOCOL_ERROR, 'PROTOCOL_ERROR');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(({} as Record<string, unknown>).type).toBeUndefined();
    }));
});
