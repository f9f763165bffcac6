import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { LdapTestClient } from '../helpers/ldap.ts';
import type { TestServer } from '../helpers/server.ts';
import { OTHER_BASE, PASSWORD, startGalServer } from '../ldap/gal-fixture.ts';

/**
 * Issue 7 item 7: an admin demoted (or disabled) while its sessions are open
 * loses its power on the very next privileged request, on every door — the
 * WebSocket session's Admin/* methods and an LDAP connection bound as that
 * admin — without reconnecting.
 */
let server: TestServer;
let root: DmciClient;
const ldapClients: LdapTestClient[] = [];

beforeAll(async () => {
  server = await startGalServer();
  await server.createAccount('boss@ops.test', PASSWORD, 'global_admin');
  await server.createAccount('deputy@example.com', PASSWORD, 'domain_admin');
  root = await server.connect('root@ops.test');
}, 120_000);
afterAll(async () => {
  await Promise.all(ldapClients.map((c) => c.close().catch(() => {})));
  await server.stop();
});

function ldapClient(): LdapTestClient {
  const c = new LdapTestClient(`ldap://127.0.0.1:${server.app.ldapPort}`);
  ldapClients.push(c);
  return c;
}

describe('privileges are re-checked on open sessions', () => {
  it('a demoted global admin can no longer create admins or reset passwords over its open WebSocket session, nor read another domain over its bound LDAP connection', async () => {
    const boss = await server.connect('boss@ops.test');
    const ldap = ldapClient();
    expect((await ldap.bind('boss@ops.test', PASSWORD)).code).toBe(0);
    // Before: both doors work with global reach.
    expect((await ldap.search(OTHER_BASE, { scope: 'one' })).entries.length).toBeGreaterThan(0);
    await boss.request('Admin/accountSetPassword', { email: 'alice@example.com', password: 'set by the boss' });

    await root.request('Admin/accountUpdate', { email: 'boss@ops.test', role: 'user' });

    await expect(boss.request('Admin/accountCreate', { email: 'mole@example.com', displayName: 'Mole', password: 'mole password', role: 'domain_admin' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(boss.request('Admin/accountSetPassword', { email: 'dave@example.com', password: 'reset by a demoted admin' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const search = await ldap.search(OTHER_BASE, { scope: 'one' });
    expect(search.entries).toHaveLength(0);
    expect(search.code).toBe(50); // insufficientAccessRights: bind again
  });

  it('a domain admin demoted to user loses Admin/* at once', async () => {
    const deputy = await server.connect('deputy@example.com');
    expect((await deputy.request('Admin/accountGet', { email: 'alice@example.com' })).account.email).toBe('alice@example.com');
    await root.request('Admin/accountUpdate', { email: 'deputy@example.com', role: 'user' });
    await expect(deputy.request('Admin/accountGet', { email: 'alice@example.com' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
