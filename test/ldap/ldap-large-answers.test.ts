import { connect as netConnect, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import ldap from 'ldapjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageSplitter } from '../../server/ldap/ldap-framing.ts';
import { UNREAD_PAUSE_BYTES } from '../../server/ldap/ldap-limits.ts';
import { peekMessage } from '../../server/ldap/ldap-request.ts';
import { LdapTestClient, pagedControl, seedGal } from '../helpers/ldap.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Answers far larger than what a client reads at once: every entry with a
 * 100 KiB photo (both photo attributes: ~200 KiB per entry on the wire).
 * Such a search reads its rows a few at a time and sends them only while the
 * connection has room, so a client that reads slowly (or not at all) costs
 * the node a bounded amount of memory, and still gets the whole answer.
 */
const BASE = 'ou=gal,dc=example,dc=com';
const PASSWORD = 'correct horse battery staple';
const ENTRIES = 160;
const PHOTO_BYTES = 100 * 1024;
/** The answer is ~32 MB: far above what the door may hold for one search (its unread mark plus a few rows). */
const ANSWER_BYTES = ENTRIES * 2 * PHOTO_BYTES;

/** The node's limit on answers queued unread (all connections): above one such connection's share, below four's. */
const NODE_UNREAD_MB = 12;

let server: TestServer;

// A full collection before each memory reading, so that only what is still held is counted.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;
const liveBuffers = () => {
  collectGarbage();
  return process.memoryUsage().arrayBuffers;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * Live ArrayBuffer bytes once two readings 200 ms apart agree within 512 KiB
 * (at most 5 s): V8 frees collected backing stores on a background thread, so
 * on a busy machine a reading right after a collection can still count ~10 MB
 * of garbage (seen in CI).
 */
async function settledBuffers(): Promise<number> {
  let last = liveBuffers();
  const until = Date.now() + 5000;
  for (;;) {
    await sleep(200);
    const now = liveBuffers();
    if (Math.abs(now - last) < 512 * 1024 || Date.now() > until) return now;
    last = now;
  }
}

beforeAll(async () => {
  server = await startTestServer({ DMCI_LDAP_MAX_CONNECTIONS_PER_IP: '1000', DMCI_LDAP_MAX_UNREAD_MB: String(NODE_UNREAD_MB) });
  await server.createAccount('alice@example.com', PASSWORD, 'user', 'Alice Anders');
  const photo = (k: number) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(PHOTO_BYTES - 6, k), Buffer.from([0xff, 0xd9])]);
  await seedGal(
    server.app.db,
    'example.com',
    Array.from({ length: ENTRIES }, (_, k) => ({ email: `portrait${String(k).padStart(3, '0')}@example.com`, displayName: `Portrait ${k}`, surname: 'Portrait', photo: photo(k) })),
  );
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

const searchRequest = (messageId: number) =>
  (
    new (ldap as unknown as { SearchRequest: new (o: unknown) => { toBer(): { buffer: Buffer } } }).SearchRequest({
      messageId,
      baseObject: BASE,
      scope: 'one',
      filter: ldap.parseFilter('(sn=Portrait)'),
      attributes: ['mail', 'jpegPhoto', 'thumbnailPhoto'],
    }) as { toBer(): { buffer: Buffer } }
  ).toBer().buffer;

async function searchesFinished(): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  return [...text.matchAll(/^dmci_ldap_searches_total\{result="\w+"\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}

async function openConnections(): Promise<number> {
  const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
  return Number(/^dmci_ldap_connections_open (\d+)/m.exec(text)?.[1]);
}

/** Reads the rest of search 2's answer on `socket`: its entries, and its SearchResultDone message. */
function readAnswer(socket: Socket): Promise<{ entries: number; done: Buffer }> {
  const splitter = new MessageSplitter(1024 * 1024);
  return new Promise((resolve, reject) => {
    let entries = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const message of splitter.push(chunk)) {
        const head = peekMessage(message)!;
        if (head.opTag === 0x64) entries++;
        else if (head.opTag === 0x65) resolve({ entries, done: message });
        else reject(new Error(`unexpected operation ${head.opTag.toString(16)}`));
      }
    });
    socket.once('close', () => reject(new Error('closed before the answer was read')));
    socket.resume();
  });
}

/** Destroys an open connection's socket and waits until the node has seen it close: a later test counts the open connections. */
async function closeSocket(socket: Socket): Promise<void> {
  const before = await openConnections();
  socket.destroy();
  const until = Date.now() + 5000;
  while ((await openConnections()) >= before && Date.now() < until) await sleep(50);
}

/** The open connections once the count holds still for 250 ms (earlier tests' closes have reached the node), at most 5 s. */
async function settledConnections(): Promise<number> {
  let last = await openConnections();
  for (let k = 0; k < 20; k++) {
    await sleep(250);
    const now = await openConnections();
    if (now === last) return now;
    last = now;
  }
  return last;
}

async function boundRawSocket(): Promise<Socket> {
  const bind = (new (ldap as unknown as { BindRequest: new (o: unknown) => { toBer(): { buffer: Buffer } } }).BindRequest({ messageId: 1, name: 'alice@example.com', credentials: PASSWORD })).toBer().buffer;
  const socket = netConnect(server.app.ldapPort, '127.0.0.1');
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(bind);
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

describe('an answer larger than its client reads', () => {
  it('waits for the client instead of queuing in memory, serves others meanwhile, and delivers every entry', async () => {
    const socket = await boundRawSocket();
    const finishedBefore = await searchesFinished();
    // The client sends its search and then reads nothing for a while.
    socket.pause();
    const heldBefore = await settledBuffers();
    socket.write(searchRequest(2));
    await sleep(1500);
    const held = (await settledBuffers()) - heldBefore;
    // Still in progress: the rest of the answer waits for the client, not in the node's memory.
    expect(await searchesFinished()).toBe(finishedBefore);
    expect(held).toBeLessThan(UNREAD_PAUSE_BYTES + 8 * 1024 * 1024);
    expect(held).toBeLessThan(ANSWER_BYTES / 2);

    const other = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
    expect((await other.bind('alice@example.com', PASSWORD)).code).toBe(0);
    const small = await other.search(BASE, { scope: 'one', filter: '(mail=portrait007@example.com)', attributes: ['mail'] });
    expect(small.entries.map((e) => e.attrs.mail)).toEqual([['portrait007@example.com']]);
    await other.close();

    // Now the client reads: the whole answer arrives, then its SearchResultDone (success).
    const received = await readAnswer(socket);
    expect(received.entries).toBe(ENTRIES);
    // SEQUENCE { messageID 2, [APPLICATION 5] { resultCode ENUMERATED success (0), ... } }
    expect([...received.done.subarray(2, 9)]).toEqual([0x02, 0x01, 0x02, 0x65, received.done[6], 0x0a, 0x01]);
    expect(received.done[9]).toBe(0);
    await closeSocket(socket);
  }, 30_000);

  it('ends the search when its connection goes away before the answer was read', async () => {
    const socket = await boundRawSocket();
    const finishedBefore = await searchesFinished();
    socket.pause();
    socket.write(searchRequest(2));
    await sleep(500);
    expect(await searchesFinished()).toBe(finishedBefore);
    await closeSocket(socket);
    // Not left waiting until its time limit (10 s): it ends as soon as the door sees the close.
    const until = Date.now() + 3000;
    while ((await searchesFinished()) === finishedBefore && Date.now() < until) await sleep(50);
    expect(await searchesFinished()).toBe(finishedBefore + 1);
  }, 30_000);

  it('past the node\'s limit on unread answers, closes the connections holding the most, and only as many as needed', async () => {
    const openBefore = await settledConnections();
    const sockets = await Promise.all(Array.from({ length: 4 }, () => boundRawSocket()));
    expect(await openConnections()).toBe(openBefore + 4);
    for (const socket of sockets) {
      socket.pause();
      socket.write(searchRequest(2));
    }
    // Each would queue ~5 MB (the unread mark and one read of rows): 4 of them are over the node's 12 MB.
    const until = Date.now() + 5000;
    while ((await openConnections()) > openBefore + 2 && Date.now() < until) await sleep(100);
    await sleep(500);
    const open = (await openConnections()) - openBefore;
    expect(open).toBeGreaterThanOrEqual(1);
    expect(open).toBeLessThanOrEqual(2);

    // Those left get their whole answer once they read; a client that reads is served meanwhile.
    const other = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
    expect((await other.bind('alice@example.com', PASSWORD)).code).toBe(0);
    expect((await other.search(BASE, { scope: 'one', filter: '(mail=portrait011@example.com)', attributes: ['mail'] })).entries).toHaveLength(1);
    await other.close();
    const answers = await Promise.allSettled(sockets.map((socket) => readAnswer(socket)));
    const whole = answers.filter((a) => a.status === 'fulfilled').map((a) => a.value.entries);
    expect(whole).toEqual(Array.from({ length: open }, () => ENTRIES));
    for (const socket of sockets) socket.destroy();
  }, 30_000);

  it('pages of such entries come whole, in sub-pages, across the page boundaries', async () => {
    const client = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
    expect((await client.bind('alice@example.com', PASSWORD)).code).toBe(0);
    const mails: string[] = [];
    let cookie: Buffer = Buffer.alloc(0);
    let pages = 0;
    do {
      const page = await client.search(BASE, { scope: 'one', filter: '(sn=Portrait)', attributes: ['mail', 'jpegPhoto'] }, [pagedControl(50, cookie)]);
      expect(page.code).toBe(0);
      for (const entry of page.entries) {
        mails.push(entry.attrs.mail![0]!);
        expect(Buffer.from(entry.attrs.jpegPhoto![0]!.slice('base64:'.length), 'base64').length).toBe(PHOTO_BYTES);
      }
      cookie = page.cookie ?? Buffer.alloc(0);
      pages++;
    } while (cookie.length > 0);
    expect(pages).toBe(Math.ceil(ENTRIES / 50));
    expect(mails.sort()).toEqual(Array.from({ length: ENTRIES }, (_, k) => `portrait${String(k).padStart(3, '0')}@example.com`));
    // Unpaged with a size limit: exactly that many, then sizeLimitExceeded.
    const limited = await client.search(BASE, { scope: 'one', filter: '(sn=Portrait)', attributes: ['mail', 'jpegPhoto'], sizeLimit: 21 });
    expect([limited.code, limited.entries.length]).toEqual([4, 21]);
    await client.close();
  }, 60_000);
});
