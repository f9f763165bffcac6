import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 on the Internet free/busy door: many anonymous clients and hostile
 * requests (slow headers, many connections from one address, huge URLs,
 * request floods, blocked addresses) meet documented bounds, and the door
 * and the server stay up for everyone else.
 */
const PER_ADDRESS = 4;
const REQUESTS_PER_WINDOW = 20;

let server: TestServer;
let port: number;
let admin: DmciClient;

/** A raw TCP connection to the door from `localAddress`; `closed` resolves with what the server sent before closing. */
function rawConnection(localAddress: string): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    const closed = new Promise<string>((resolveClosed) => socket.on('close', () => resolveClosed(received)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

/** One GET over a fresh connection from `localAddress`: the status line's code (0 when the connection was closed without an answer). */
async function get(localAddress: string, path: string): Promise<{ status: number; text: string }> {
  const { socket, closed } = await rawConnection(localAddress);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: fb\r\nConnection: close\r\n\r\n`);
  const text = await closed;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), text };
}

const vfb = '/freebusy/bob@example.com.vfb';

beforeAll(async () => {
  server = await startTestServer({
    DMCI_FREEBUSY_PORT: '0',
    DMCI_FREEBUSY_HOST: '127.0.0.1',
    DMCI_FREEBUSY_MAX_CONNECTIONS_PER_IP: String(PER_ADDRESS),
    DMCI_PREAUTH_MAX_FRAMES: String(REQUESTS_PER_WINDOW),
  });
  port = server.app.freeBusyPort!;
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  await server.createAccount('bob@example.com');
  admin = await server.connect('admin@example.com');
});
afterAll(() => server.stop());

describe('Internet free/busy door under attack', { timeout: 120_000 }, () => {
  it('holds one address to its connection cap, closes slow headers, and serves other addresses meanwhile', async () => {
    const slow = await Promise.all(Array.from({ length: PER_ADDRESS }, () => rawConnection('127.0.5.1')));
    for (const { socket } of slow) socket.write('GET /freebusy/bob@example.com.vfb HTTP/1.1\r\nHost: fb\r\n'); // and never the end of the headers
    // One more from the same address is closed at once, unanswered (without the cap it would wait for its 408 like the others).
    const extra = await rawConnection('127.0.5.1');
    extra.socket.write('GET /freebusy/bob@example.com.vfb HTTP/1.1\r\nHost: fb\r\n');
    expect(await extra.closed).toBe('');
    // Another address is answered (anonymous: the domain shows nothing without a login), and so is the WebSocket door.
    expect((await get('127.0.5.2', vfb)).status).toBe(401);
    expect(await admin.request('Core/echo', { payload: 'up' })).toEqual({ payload: 'up' });
    // The slow ones are closed at the headers deadline (408), freeing the address's slots.
    for (const { closed } of slow) expect(await closed).toMatch(/^HTTP\/1\.1 408|^$/);
    expect((await get('127.0.5.1', vfb)).status).toBe(401);
  });

  it('refuses a huge URL before reading it (431) and stays up', async () => {
    const huge = await get('127.0.5.3', `/freebusy/${'a'.repeat(20_000)}@example.com.vfb`);
    expect(huge.status).toBe(431);
    expect((await get('127.0.5.3', '/freebusy/x.vfb?start=not-a-date')).status).toBe(404);
    expect((await get('127.0.5.3', `${vfb}?start=not-a-date`)).status).toBe(400);
    expect((await get('127.0.5.3', `${vfb}?start=2026-12-01T00:00:00Z&end=2027-06-01T00:00:00Z`)).status).toBe(400);
    expect((await get('127.0.5.3', `/freebusy/%ZZ%00.vfb`)).status).toBe(404);
  });

  it('spends the pre-authentication budget per address: past it 429 with Retry-After, others still served', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < REQUESTS_PER_WINDOW + 3; i++) statuses.push((await get('127.0.5.4', vfb)).status);
    expect(statuses.slice(0, REQUESTS_PER_WINDOW).every((s) => s === 401)).toBe(true);
    const refused = await get('127.0.5.4', vfb);
    expect(refused.status).toBe(429);
    expect(refused.text).toMatch(/\r\nretry-after: \d+\r\n/i);
    expect((await get('127.0.5.5', vfb)).status).toBe(401);
  });

  it('answers a blocked address 429 even without a login', async () => {
    await server.app.services.screen.block(systemActor, '127.0.5.6', { reason: 'scanning', forMs: 3_600_000 });
    // The node's screen takes the block from its hint, just after the commit.
    await expect.poll(async () => (await get('127.0.5.6', vfb)).status).toBe(429);
    const blocked = await get('127.0.5.6', vfb);
    expect(blocked.text).toMatch(/\r\nretry-after: \d+\r\n/i);
    expect((await get('127.0.5.7', vfb)).status).toBe(401);
  });
});
