import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { helloFrame, openRaw } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 6: hellos dropped 100 ms after they were sent used to fill the
 * password-hashing queue (every one was still hashed, none was counted), so
 * every other login timed out. The hashes here are the real cost
 * (19 MiB argon2id) with one at a time, against a 3 s handshake deadline.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ DMCI_HASH_CONCURRENCY: '1', DMCI_ARGON2_MEMORY_KIB: '19456', DMCI_AUTH_DEADLINE_MS: '3000' });
  await Promise.all([server.createAccount('target@example.com'), server.createAccount('legit@example.com')]);
}, 120_000);
afterAll(() => server.stop());

async function dropHello(localAddress: string): Promise<void> {
  const socket = await openRaw(server.url, { localAddress }).catch(() => undefined); // refused once the address is blocked
  if (!socket) return;
  socket.send(helloFrame('target@example.com', 'a guess'));
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.ws.terminate();
}

describe('a flood of abandoned hellos', () => {
  it('neither fills the hashing queue for other addresses nor goes uncounted', async () => {
    const flooder = '127.0.0.60';
    await Promise.all(Array.from({ length: 300 }, () => dropHello(flooder)));

    // A login from another address right after the flood gets in.
    const client = await server.connect('legit@example.com', undefined, { localAddress: '127.0.0.61' });
    expect(client.connected).toBe(true);
    await client.close();
    // The abandoned hellos counted as failures: the flooding address is blocked.
    await expect(openRaw(server.url, { localAddress: flooder })).rejects.toThrow('HTTP 429');
  }, 60_000);
});
