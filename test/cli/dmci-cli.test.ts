import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import { createEmptyTestDatabase, createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { runBin, runDmci } from '../helpers/run.ts';

/**
 * The `dmci` command with DATABASE_URL in its environment. Exit codes: 0
 * done, 1 refused, 2 bad usage. The first migrate runs `bin/dmci.mjs` as a
 * child process, exactly as an operator does; the rest call the same `main`
 * in-process (test/helpers/run.ts `runDmci`), which saves seconds per call.
 */
let databaseUrl: string;
const PASSWORD = 'operator chosen password';

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
});
afterAll(() => dropTestDatabase(databaseUrl));

const dmci = (args: string[], input?: string, url = databaseUrl) =>
  runDmci(args, { env: { DATABASE_URL: url, DMCI_ARGON2_MEMORY_KIB: '1024' }, ...(input !== undefined ? { input } : {}) });

describe('dmci CLI', { timeout: 180_000 }, () => {
  it('migrate applies every migration to an empty database, then finds nothing to do', async () => {
    const url = await createEmptyTestDatabase();
    try {
      const first = await runBin('dmci', ['--json', 'migrate'], { env: { DATABASE_URL: url }, fromSource: true });
      expect(first.code, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout)).toEqual({ applied: Object.keys(migrations).sort() });
      const db = new pg.Client({ connectionString: url });
      await db.connect();
      const { rows } = await db.query('select name from kysely_migration order by name');
      await db.end();
      expect(rows.map((r: { name: string }) => r.name)).toEqual(Object.keys(migrations).sort());
      const second = await dmci(['migrate'], undefined, url);
      expect(second.code).toBe(0);
      expect(second.stdout).toContain('schema is up to date');
    } finally {
      await dropTestDatabase(url);
    }
  });

  it('adds and lists domains; a duplicate is refused with exit 1, a bad name with exit 2', async () => {
    const added = await dmci(['domain', 'add', 'Example.ORG']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('domain example.org added');
    const [duplicate, bad, list, json] = await Promise.all([
      dmci(['domain', 'add', 'example.org']),
      dmci(['domain', 'add', 'not_a_domain']),
      dmci(['domain', 'list']),
      dmci(['--json', 'domain', 'list']),
    ]);
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('domain example.org already exists (ALREADY_EXISTS)');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('"not_a_domain" is not a valid domain name');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^domain\s+accounts\s+created/);
    expect(list.stdout).toContain('example.org');
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ name: 'example.org', accountCount: 0 })]);
  });

  it('adds users (password by flag or stdin), refuses bad arguments with exit 2 and duplicates with exit 1', async () => {
    const [byFlag, byStdin] = await Promise.all([
      dmci(['user', 'add', 'ann@example.org', '--name', 'Ann Admin', '--role', 'domain_admin', '--password', PASSWORD]),
      dmci(['--json', 'user', 'add', 'bob@example.org', '-n', 'Bob'], `${PASSWORD}\n`),
    ]);
    expect(byFlag.code, byFlag.stderr).toBe(0);
    expect(byFlag.stdout).toContain('account ann@example.org added (domain_admin)');
    expect(byStdin.code, byStdin.stderr).toBe(0);
    expect(JSON.parse(byStdin.stdout)).toMatchObject({ email: 'bob@example.org', displayName: 'Bob', role: 'user', enabled: true });

    const [badEmail, badRole, noName, shortPassword, duplicate, noDomain] = await Promise.all([
      dmci(['user', 'add', 'not-an-email', '--name', 'X', '--password', PASSWORD]),
      dmci(['user', 'add', 'cat@example.org', '--name', 'Cat', '--role', 'emperor', '--password', PASSWORD]),
      dmci(['user', 'add', 'dan@example.org', '--password', PASSWORD]),
      dmci(['user', 'add', 'eve@example.org', '--name', 'Eve'], 'short\n'),
      dmci(['user', 'add', 'ann@example.org', '--name', 'Ann again', '--password', PASSWORD]),
      dmci(['user', 'add', 'fay@nowhere.example', '--name', 'Fay', '--password', PASSWORD]),
    ]);
    expect(badEmail.code).toBe(2);
    expect(badEmail.stderr).toContain('"not-an-email" is not a valid email address');
    expect(badRole.code).toBe(2);
    expect(badRole.stderr).toMatch(/emperor.*user, domain_admin, global_admin/s);
    expect(noName.code).toBe(2);
    expect(noName.stderr).toContain('--name');
    expect(shortPassword.code).toBe(2);
    expect(shortPassword.stderr).toContain('at least 8 characters');
    expect(duplicate.code).toBe(1);
    expect(duplicate.stderr).toContain('already exists (ALREADY_EXISTS)');
    expect(noDomain.code).toBe(1);
    expect(noDomain.stderr).toContain('NOT_FOUND');
  });

  it('lists, disables, enables and re-passwords users', async () => {
    const disabled = await dmci(['user', 'disable', 'bob@example.org']);
    expect(disabled.code, disabled.stderr).toBe(0);
    const listed = await dmci(['--json', 'user', 'list', '--domain', 'example.org']);
    const accounts = (JSON.parse(listed.stdout) as { accounts: Array<{ email: string; enabled: boolean }> }).accounts;
    expect(accounts.map((a) => [a.email, a.enabled])).toEqual([
      ['ann@example.org', true],
      ['bob@example.org', false],
    ]);
    const [enabled, missing] = await Promise.all([dmci(['user', 'enable', 'bob@example.org']), dmci(['user', 'disable', 'nobody@example.org'])]);
    expect(enabled.code).toBe(0);
    const text = await dmci(['user', 'list']);
    expect(text.stdout).toMatch(/^email\s+name\s+role\s+enabled/);
    expect(text.stdout).toMatch(/bob@example\.org\s+Bob\s+user\s+yes/);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not found');

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    const before = await db.query(`select password_hash from accounts where email = 'bob@example.org'`);
    const passwd = await dmci(['user', 'passwd', 'bob@example.org'], 'a different password\n');
    const after = await db.query(`select password_hash, enabled from accounts where email = 'bob@example.org'`);
    await db.end();
    expect(passwd.code, passwd.stderr).toBe(0);
    expect(passwd.stdout).toContain('password of bob@example.org changed');
    expect((after.rows[0] as { password_hash: string }).password_hash).not.toBe((before.rows[0] as { password_hash: string }).password_hash);
    expect((after.rows[0] as { enabled: boolean }).enabled).toBe(true);
  });

  it('prints help and refuses unknown commands with exit 2', async () => {
    const [help, unknown] = await Promise.all([dmci(['--help']), dmci(['frobnicate'])]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: dmci');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
  });
});
