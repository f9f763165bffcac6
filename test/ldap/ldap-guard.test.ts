import { connect as netConnect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapTestClient } from '../helpers/ldap.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, PASSWORD, startGalServer } from './gal-fixture.ts';

/**
 * The LDAP door under the one login guard (issue 7 item 5) and its slot
 * limits (item 8): pipelined binds are not all evaluated, one address cannot
 * hold every connection slot, and an unbound connection is closed after the
 * bind deadline.
 */
let guarded: TestServer;
let slots: TestServer;
const clients: LdapTestClient[] = [];

beforeAll(async () => {
  [guarded, slots] = await Promise.all([
    startGalServer({ DMCI_LOGIN_DELAY_MAX_MS: '3000', DMCI_SCREEN_FAILURES: '100' }),
    startGalServer({ DMCI_LDAP_MAX_CONNECTIONS_PER_IP: '3', DMCI_LDAP_BIND_DEADLINE_MS: '1500' }),
  ]);
}, 120_000);
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await Promise.all([guarded?.stop(), slots?.stop()]);
});

function client(server: TestServer): LdapTestClient {
  const c = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
  clients.push(c);
  return c;
}

/** A bare TCP connection to the LDAP port; `closed` resolves when the server drops it. */
function openTcp(server: TestServer): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = netConnect(server.app.ldapPort, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('binds under the login guard', () => {
  it('answers pipelined binds on one connection busy while one is checked: the right password, sent last, does not bind', async () => {
    const c = client(guarded);
    const passwords = [...Array.from({ length: 7 }, (_, i) => `guess ${i}`), PASSWORD];
    const results = await Promise.all(passwords.map((password) => c.bind('alice@example.com', password)));
    expect(results.at(-1)!.code).not.toBe(0);
    expect(results.filter((r) => r.code === 49)).toHaveLength(1); // invalidCredentials: the one evaluated
    expect(results.filter((r) => r.code === 51).length).toBe(7); // busy
  });

  it('answers parallel binds for the same login from other connections busy too', async () => {
    const results = await Promise.all(Array.from({ length: 5 }, (_, i) => client(guarded).bind('dave@example.com', `guess ${i}`)));
    expect(results.filter((r) => r.code === 49)).toHaveLength(1);
    expect(results.filter((r) => r.code === 51)).toHaveLength(4);
  });
});

describe('LDAP connection slots', () => {
  it('caps the connections one address may hold (DMCI_LDAP_MAX_CONNECTIONS_PER_IP)', async () => {
    const held = await Promise.all([openTcp(slots), openTcp(slots), openTcp(slots)]);
    const extra = await openTcp(slots);
    await extra.closed;
    expect(held.map((h) => h.socket.destroyed)).toEqual([false, false, false]);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
  });

  it('closes a connection that does not bind within DMCI_LDAP_BIND_DEADLINE_MS, and keeps a bound one', async () => {
    const unbound = await openTcp(slots);
    const bound = client(slots);
    expect((await bound.bind('alice@example.com', PASSWORD)).code).toBe(0);
    await unbound.closed; // the server dropped it
    const result = await bound.search(BASE, { scope: 'base' });
    expect(result.code).toBe(0);
    expect(result.entries).toHaveLength(1);
  });
});
