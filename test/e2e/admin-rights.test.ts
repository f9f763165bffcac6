import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Admin/* rights (protocol/methods/admin.ts): a plain user may do none of it;
 * a domain admin manages only its own domain and cannot grant global_admin; a
 * global admin does everything.
 */
let server: TestServer;
let root: DmciClient;
let domainAdmin: DmciClient;
let user: DmciClient;
const PASSWORD = 'provisioned password';

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('root@alpha.example', undefined, 'global_admin');
  await server.createAccount('da@alpha.example', undefined, 'domain_admin');
  await server.createAccount('user@alpha.example');
  await server.createAccount('someone@beta.example');
  [root, domainAdmin, user] = await Promise.all([server.connect('root@alpha.example'), server.connect('da@alpha.example'), server.connect('user@alpha.example')]);
});
afterAll(() => server.stop());

const forbidden = { code: 'FORBIDDEN' };

describe('admin rights', () => {
  it('a plain user gets FORBIDDEN on every Admin/* method', async () => {
    const calls: Array<[string, Record<string, unknown>]> = [
      ['Admin/domainCreate', { name: 'gamma.example' }],
      ['Admin/domainList', {}],
      ['Admin/accountCreate', { email: 'x@alpha.example', displayName: 'X', password: PASSWORD }],
      ['Admin/accountGet', { email: 'user@alpha.example' }],
      ['Admin/accountList', {}],
      ['Admin/accountUpdate', { email: 'user@alpha.example', role: 'global_admin' }],
      ['Admin/accountDisable', { email: 'da@alpha.example' }],
      ['Admin/accountEnable', { email: 'user@alpha.example' }],
      ['Admin/accountSetPassword', { email: 'root@alpha.example', password: PASSWORD }],
    ];
    for (const [method, args] of calls) await expect(user.call(method, args), method).rejects.toMatchObject(forbidden);
    expect((await root.request('Admin/accountGet', { email: 'user@alpha.example' })).account.role).toBe('user');
  });

  it('a domain admin manages its own domain only, and cannot grant or touch global_admin', async () => {
    const created = await domainAdmin.request('Admin/accountCreate', { email: 'New.Hire@Alpha.example', displayName: 'New Hire', password: PASSWORD });
    expect(created).toMatchObject({ created: true, account: { email: 'new.hire@alpha.example', domain: 'alpha.example', role: 'user', enabled: true } });
    await domainAdmin.request('Admin/accountUpdate', { email: 'new.hire@alpha.example', displayName: 'Renamed' });
    await domainAdmin.request('Admin/accountDisable', { email: 'new.hire@alpha.example' });
    await domainAdmin.request('Admin/accountEnable', { email: 'new.hire@alpha.example' });

    const list = await domainAdmin.request('Admin/accountList', {});
    expect(new Set(list.accounts.map((a) => a.domain))).toEqual(new Set(['alpha.example']));
    expect((await domainAdmin.request('Admin/domainList', {})).domains.map((d) => d.name)).toEqual(['alpha.example']);

    await expect(domainAdmin.request('Admin/accountCreate', { email: 'intruder@beta.example', displayName: 'I', password: PASSWORD })).rejects.toMatchObject(forbidden);
    // An account in another domain is as unknown to a domain admin as one that does not exist (no probing of other tenants' names).
    for (const method of ['Admin/accountGet', 'Admin/accountDisable', 'Admin/accountUpdate'] as const) {
      const args = (email: string) => (method === 'Admin/accountUpdate' ? { email, displayName: 'X' } : { email });
      const refusal = (email: string) => domainAdmin.call(method, args(email)).then(
        () => ({ code: 'OK', message: '' }),
        (error: { code: string; message: string }) => error,
      );
      const existing = await refusal('someone@beta.example');
      const missing = await refusal('nobody@beta.example');
      expect(existing, method).toMatchObject({ code: 'NOT_FOUND' });
      expect(missing.message.replace('nobody', 'someone'), method).toBe(existing.message);
    }
    // Another domain and a domain that does not exist: the same FORBIDDEN.
    await expect(domainAdmin.request('Admin/accountList', { domain: 'beta.example' })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountList', { domain: 'nowhere.example' })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountCreate', { email: 'x@nowhere.example', displayName: 'X', password: PASSWORD })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountCreate', { email: 'boss@alpha.example', displayName: 'B', password: PASSWORD, role: 'global_admin' })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountUpdate', { email: 'user@alpha.example', role: 'global_admin' })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountSetPassword', { email: 'root@alpha.example', password: PASSWORD })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/accountDisable', { email: 'root@alpha.example' })).rejects.toMatchObject(forbidden);
    await expect(domainAdmin.request('Admin/domainCreate', { name: 'gamma.example' })).rejects.toMatchObject(forbidden);
    // Nothing of that was written.
    expect((await root.request('Admin/accountGet', { email: 'user@alpha.example' })).account.role).toBe('user');
    await expect(root.request('Admin/accountGet', { email: 'boss@alpha.example' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect((await root.request('Admin/domainList', {})).domains.map((d) => d.name)).toEqual(['alpha.example', 'beta.example']);
  });

  it('a global admin does everything, across domains', async () => {
    const { domain } = await root.request('Admin/domainCreate', { name: 'Gamma.Example' });
    expect(domain).toMatchObject({ name: 'gamma.example', accountCount: 0 });
    const { account } = await root.request('Admin/accountCreate', { email: 'chief@gamma.example', displayName: 'Chief', password: PASSWORD, role: 'global_admin' });
    expect(account.role).toBe('global_admin');
    await root.request('Admin/accountUpdate', { email: 'someone@beta.example', role: 'domain_admin' });
    await root.request('Admin/accountSetPassword', { email: 'someone@beta.example', password: PASSWORD });
    const page = await root.request('Admin/accountList', { limit: 2 });
    expect(page.accounts).toHaveLength(2);
    expect(page.hasMore).toBe(true);
    const next = await root.request('Admin/accountList', { limit: 100, after: page.accounts[1]!.email });
    expect(next.accounts.map((a) => a.email)).not.toContain(page.accounts[0]!.email);
    const domains = await root.request('Admin/domainList', {});
    expect(domains.domains.find((d) => d.name === 'gamma.example')?.accountCount).toBe(1);
  });

  it('answers duplicates with ALREADY_EXISTS, and ifNotExists makes account creation idempotent', async () => {
    await expect(root.request('Admin/domainCreate', { name: 'alpha.example' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(root.request('Admin/accountCreate', { email: 'user@alpha.example', displayName: 'Again', password: PASSWORD })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const first = await root.request('Admin/accountCreate', { email: 'idem@alpha.example', displayName: 'Idem', password: PASSWORD, ifNotExists: true });
    const second = await root.request('Admin/accountCreate', { email: 'IDEM@alpha.example', displayName: 'Other name', password: 'another password', ifNotExists: true });
    expect(first.created).toBe(true);
    expect(second.created).toBe(false);
    expect(second.account).toEqual(first.account);
    // Concurrent idempotent creates: one creates, the others find it.
    const racing = await Promise.all(Array.from({ length: 5 }, () => root.request('Admin/accountCreate', { email: 'race@alpha.example', displayName: 'Race', password: PASSWORD, ifNotExists: true })));
    expect(racing.filter((r) => r.created)).toHaveLength(1);
    await expect(root.request('Admin/accountCreate', { email: 'ghost@nowhere.example', displayName: 'G', password: PASSWORD })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('makes domain creation idempotent with ifNotExists', async () => {
    const created = await root.request('Admin/domainCreate', { name: 'Idem-Domain.example', ifNotExists: true });
    const again = await root.request('Admin/domainCreate', { name: 'idem-domain.example', ifNotExists: true });
    expect(created).toMatchObject({ created: true, domain: { name: 'idem-domain.example' } });
    expect(again).toMatchObject({ created: false, domain: { id: created.domain.id, name: 'idem-domain.example' } });
    await expect(domainAdmin.request('Admin/domainCreate', { name: 'idem-domain.example', ifNotExists: true })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
