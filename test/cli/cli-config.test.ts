import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../server/config/config.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { binScript, REPO_ROOT, runCommand } from '../helpers/run.ts';

/**
 * Issue 12 §5: one configuration for server and CLI (a config file, the
 * environment over it), `dmci --version`, JSON errors with --json, and a CLI
 * that never creates a database where it finds none.
 */
let dir: string;
let databaseUrl: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmci-config-'));
  databaseUrl = await createTestDatabase();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await dropTestDatabase(databaseUrl);
});

/** `dmci ...` run from `cwd`, as an operator in some other directory would. */
const dmci = (args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  runCommand(process.execPath, [binScript('dmci'), ...args], { cwd: options.cwd ?? dir, env: { DMCI_ARGON2_MEMORY_KIB: '1024', ...options.env }, timeoutMs: 120_000 });

describe('the config file', () => {
  it('is read from DMCI_CONFIG; relative paths in it are relative to the file; the environment overrides it', async () => {
    await mkdir(join(dir, 'etc'), { recursive: true });
    const file = join(dir, 'etc', 'dmci.json');
    await writeFile(file, JSON.stringify({ DMCI_DATA_DIR: 'data', DMCI_PORT: 9400, DMCI_LDAP_ALLOW_ANONYMOUS: true, DMCI_TRUSTED_HOSTS: ['10.0.0.0/8', '::1'] }));
    const config = loadConfig({ DMCI_CONFIG: file }, '/somewhere/else');
    expect(config).toMatchObject({ dataDir: join(dir, 'etc', 'data'), DMCI_PORT: 9400, DMCI_LDAP_ALLOW_ANONYMOUS: true, DMCI_TRUSTED_HOSTS: ['10.0.0.0/8', '::1'], configFile: file });
    expect(loadConfig({ DMCI_CONFIG: file, DMCI_PORT: '9500' }, '/').DMCI_PORT).toBe(9500);
  });

  it('is ./dmci.json when DMCI_CONFIG is unset', async () => {
    const local = join(dir, 'local');
    await mkdir(local, { recursive: true });
    await writeFile(join(local, 'dmci.json'), JSON.stringify({ DMCI_OPS_PORT: 9401 }));
    const config = loadConfig({}, local);
    expect(config.DMCI_OPS_PORT).toBe(9401);
    expect(config.configFile).toBe(join(local, 'dmci.json'));
  });

  it.each([
    [{ DMCI_PORTT: 1 }, /unknown setting "DMCI_PORTT"/],
    [{ DMCI_PORT: { n: 1 } }, /DMCI_PORT must be a string, number, boolean or array of strings/],
    [{ DMCI_PORT: 'abc' }, /invalid DMCI_PORT/],
  ])('refuses %j', async (content, message) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, JSON.stringify(content));
    expect(() => loadConfig({ DMCI_CONFIG: file }, '/')).toThrow(message);
  });

  it('refuses a DMCI_CONFIG that does not exist, and a file that is not JSON', async () => {
    expect(() => loadConfig({ DMCI_CONFIG: join(dir, 'nope.json') }, '/')).toThrow(ConfigError);
    await writeFile(join(dir, 'broken.json'), '{ "DMCI_PORT": ');
    expect(() => loadConfig({ DMCI_CONFIG: join(dir, 'broken.json') }, '/')).toThrow(/cannot read the config file/);
  });
});

describe('dmci from any directory', { timeout: 300_000 }, () => {
  it('reaches the database the config file names', async () => {
    const file = join(dir, 'shared.json');
    await writeFile(file, JSON.stringify({ DATABASE_URL: databaseUrl }));
    const added = await dmci(['domain', 'add', 'config.example'], { env: { DMCI_CONFIG: file }, cwd: '/' });
    expect(added.code, added.stderr).toBe(0);
    const listed = await dmci(['--json', 'domain', 'list'], { env: { DMCI_CONFIG: file }, cwd: tmpdir() });
    expect(JSON.parse(listed.stdout).map((d: { name: string }) => d.name)).toEqual(['config.example']);
  });

  it('never creates a database: with none where it looks, it fails saying where it looked', async () => {
    const empty = join(dir, 'nothing-here');
    const result = await dmci(['user', 'list'], { env: { DMCI_DATA_DIR: empty } });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`no dmci database in ${empty}`);
    expect(result.stderr).toMatch(/no config file \(looked for .*dmci\.json, \/etc\/dmci\/dmci\.json\)/);
    expect(existsSync(empty)).toBe(false);
  });

  it('prints its version', async () => {
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const result = await dmci(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('with --json, reports errors as one JSON object on stderr', async () => {
    const noDatabase = await dmci(['--json', 'user', 'list'], { env: { DMCI_DATA_DIR: join(dir, 'still-nothing') } });
    expect(noDatabase.code).toBe(1);
    expect(JSON.parse(noDatabase.stderr)).toMatchObject({ error: { code: 'NO_DATABASE', message: expect.stringContaining('no dmci database in') } });
    const usage = await dmci(['--json', 'user', 'frobnicate']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toMatchObject({ error: { code: 'USAGE', message: expect.stringMatching(/unknown command/) } });
    const config = await dmci(['--json', 'domain', 'list'], { env: { DMCI_PORT: 'abc' } });
    expect(config.code).toBe(2);
    expect(JSON.parse(config.stderr)).toMatchObject({ error: { code: 'CONFIG', message: expect.stringContaining('DMCI_PORT') } });
    const refused = await dmci(['--json', 'user', 'add', 'x@nowhere.example', '--name', 'X', '--password', 'long enough password'], { env: { DATABASE_URL: databaseUrl } });
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.stderr)).toMatchObject({ error: { code: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) } });
  });
});
