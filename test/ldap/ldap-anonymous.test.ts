import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { LdapTestClient, rawExchange } from '../helpers/ldap.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * DMCI_LDAP_ALLOW_ANONYMOUS=true: anonymous binds succeed and every GAL is
 * readable without one. Also DMCI_LDAP_MAX_TIME_MS, enforced by the LDAP
 * pool's statement_timeout when the client sets no limit of its own, and
 * DMCI_LDAP_MAX_CONNECTIONS_PER_IP on the LDAP door.
 */
let server: TestServer;
let client: LdapTestClient;

beforeAll(async () => {
  server = await startTestServer({ DMCI_LDAP_ALLOW_ANONYMOUS: 'true', DMCI_LDAP_MAX_TIME_MS: '1000', DMCI_LDAP_MAX_CONNECTIONS_PER_IP: '3' });
  await server.createAccount('alice@example.com', DEFAULT_PASSWORD, 'user', 'Alice Anders');
  await server.createAccount('olga@other.test', DEFAULT_PASSWORD, 'user', 'Olga Other');
  client = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
});
afterAll(async () => {
  await client?.close();
  await server?.stop();
});

it('accepts an anonymous bind, and still refuses an unauthenticated one', async () => {
  expect((await client.bind('', '')).code).toBe(0);
  const other = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
  expect((await other.bind('alice@example.com', '')).code).toBe(53);
  await other.close();
});

it('lets anonymous clients read every GAL and advertises every base', async () => {
  const result = await client.search('ou=gal,dc=other,dc=test', { filter: '(mail=*)', attributes: ['mail'] });
  expect(result.code).toBe(0);
  expect(result.entries.map((e) => e.attrs.mail?.[0])).toEqual(['olga@other.test']);
  const dse = await client.search('', { scope: 'base', attributes: ['namingContexts'] });
  expect(dse.entries[0]!.attrs.namingContexts!.sort()).toEqual(['ou=gal,dc=example,dc=com', 'ou=gal,dc=other,dc=test']);
});

it("answers timeLimitExceeded (3) at dmci's own time cap when the client sets none", async () => {
  let held!: () => void;
  let release!: () => void;
  const isHeld = new Promise<void>((resolve) => (held = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const locker = server.app.db.transaction().execute(async (trx) => {
    await sql`lock table directory_entries in access exclusive mode`.execute(trx);
    held();
    await released;
  });
  await isHeld;
  const result = await client.search('ou=gal,dc=example,dc=com', { filter: '(mail=*)' });
  release();
  await locker;
  expect(result.code).toBe(3);
  // ... and the next search is fine.
  expect((await client.search('ou=gal,dc=example,dc=com', { filter: '(mail=*)' })).code).toBe(0);
});

it('refuses connections beyond DMCI_LDAP_MAX_CONNECTIONS_PER_IP (3 here) until one closes', async () => {
  const anonymousBind = Buffer.from([0x30, 0x0c, 0x02, 0x01, 0x01, 0x60, 0x07, 0x02, 0x01, 0x03, 0x04, 0x00, 0x80, 0x00]);
  const extra = [new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`), new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`)];
  for (const c of extra) expect((await c.bind('', '')).code).toBe(0);
  const refused = await rawExchange(server.app.ldapPort, anonymousBind, 1000);
  expect(refused.closed).toBe(true);
  expect(refused.received.length).toBe(0);
  await Promise.all(extra.map((c) => c.close()));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const answered = await rawExchange(server.app.ldapPort, anonymousBind, 500);
  expect(answered.received[5]).toBe(0x61); // a BindResponse
});
