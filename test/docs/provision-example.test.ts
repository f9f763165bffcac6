import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCommand } from '../helpers/run.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/** docs/examples/provision.ts must keep working: run it, twice, against a real server. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('root@ops.example', DEFAULT_PASSWORD, 'global_admin');
});
afterAll(() => server.stop());

const provision = () =>
  runCommand(process.execPath, ['--import', 'tsx', 'docs/examples/provision.ts'], {
    env: { DMCI_URL: server.url, DMCI_USER: 'root@ops.example', DMCI_PASSWORD: DEFAULT_PASSWORD, PROVISION_DOMAIN: 'acme.example' },
  });

describe('docs/examples/provision.ts', { timeout: 120_000 }, () => {
  it('creates the domain and accounts, disables the leaver, and is idempotent', async () => {
    const first = await provision();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('domain acme.example: created');
    expect(first.stdout).toMatch(/account alice@acme\.example: created, initial password \S{16}/);
    expect(first.stdout).toContain('account bob@acme.example: disabled');

    const second = await provision();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toContain('domain acme.example: exists');
    expect(second.stdout).toContain('account alice@acme.example: exists');
    expect(second.stdout).not.toContain('created');

    const admin = await server.connect('root@ops.example');
    const { accounts } = await admin.request('Admin/accountList', { domain: 'acme.example' });
    expect(accounts.map((a) => [a.email, a.role, a.enabled])).toEqual([
      ['alice@acme.example', 'user', true],
      ['bob@acme.example', 'user', false],
      ['it@acme.example', 'domain_admin', true],
    ]);
  });

  it('fails with exit 1 and a message when the admin cannot log in', async () => {
    const result = await runCommand(process.execPath, ['--import', 'tsx', 'docs/examples/provision.ts'], { env: { DMCI_URL: server.url, DMCI_USER: 'root@ops.example', DMCI_PASSWORD: 'wrong' } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('provisioning failed: wrong login or password');
  });
});
