import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { binScript, cleanEnv, REPO_ROOT, runBin, type RunResult } from '../helpers/run.ts';

/**
 * Issue 12 §4: a start-up that fails exits non-zero with one clear line on
 * stderr, having closed everything it opened (the process exits by itself:
 * bin/dmci.mjs would warn if anything kept it alive), the embedded
 * PostgreSQL it started included.
 */
const dirs: string[] = [];
const databases: string[] = [];
afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  for (const url of databases) await dropTestDatabase(url);
});

async function baseEnv(): Promise<Record<string, string>> {
  return {
    DMCI_PORT: String(await freePort()),
    DMCI_OPS_PORT: String(await freePort()),
    DMCI_CONSOLE_PORT: '0',
    DMCI_LDAP_PORT: '0',
    DMCI_LDAPS_PORT: '0',
    DMCI_HOST: '127.0.0.1',
    DMCI_OPS_HOST: '127.0.0.1',
    DMCI_LOG_LEVEL: 'info',
  };
}

/** `dmci start` failed cleanly: exit 1, exactly one `dmci:` line on stderr, nothing left open. */
function expectCleanFailure(result: RunResult, message: RegExp): void {
  expect(result.code, result.stderr + result.stdout).toBe(1);
  const lines = result.stderr.trim().split('\n');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^dmci: start-up failed: /);
  expect(lines[0]).toMatch(message);
}

describe('dmci start: failed start-ups exit', { timeout: 180_000 }, () => {
  it('with the connector port in use: exit 1, and the embedded PostgreSQL it started is stopped', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dmci-startfail-'));
    dirs.push(dataDir);
    const env: Record<string, string> = { ...(await baseEnv()), DMCI_DATA_DIR: dataDir };
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(Number(env.DMCI_PORT), '127.0.0.1', resolve));
    try {
      const result = await runBin('dmci', ['start'], { env, timeoutMs: 150_000 });
      expectCleanFailure(result, new RegExp(`connector door cannot listen on 127\\.0\\.0\\.1:${env.DMCI_PORT}: the address is already in use`));
      expect(result.stdout).toContain('starting embedded PostgreSQL');
      expect(result.stdout).toContain('stopping embedded PostgreSQL');
      expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
      expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    } finally {
      squatter.close();
    }
  });

  it('with an unreadable TLS certificate: exit 1 naming DMCI_TLS_CERT, before any database is touched', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmci-badtls-'));
    dirs.push(dir);
    await writeFile(join(dir, 'key.pem'), 'not a key');
    const env = { ...(await baseEnv()), DMCI_DATA_DIR: join(dir, 'data'), DMCI_TLS_CERT: join(dir, 'missing.pem'), DMCI_TLS_KEY: join(dir, 'key.pem') };
    const missing = await runBin('dmci', ['start'], { env });
    expectCleanFailure(missing, /cannot read DMCI_TLS_CERT .*missing\.pem: ENOENT/);
    await writeFile(join(dir, 'cert.pem'), '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n');
    const garbage = await runBin('dmci', ['start'], { env: { ...env, DMCI_TLS_CERT: join(dir, 'cert.pem') } });
    expectCleanFailure(garbage, /are not a usable certificate and key/);
    expect(existsSync(join(dir, 'data'))).toBe(false);
  });

  it('with the database unreachable past DMCI_DB_WAIT_MS: exit 1 saying how long it waited', async () => {
    const env = { ...(await baseEnv()), DATABASE_URL: `postgres://dmci:x@127.0.0.1:${await freePort()}/dmci`, DMCI_DB_WAIT_MS: '1500' };
    const result = await runBin('dmci', ['start'], { env });
    expectCleanFailure(result, /database 127\.0\.0\.1:\d+\/dmci unreachable after waiting 1500 ms \(DMCI_DB_WAIT_MS\)/);
    expect(result.stdout).toContain('database not reachable yet; waiting');
  });

  it('when a migration fails: exit 1 naming the migration', async () => {
    const url = await createTestDatabase();
    databases.push(url);
    // A schema dmci did not make: its first migration cannot create `domains`.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('drop schema public cascade; create schema public; create table domains (id int)');
    await client.end();
    const result = await runBin('dmci', ['start'], { env: { ...(await baseEnv()), DATABASE_URL: url } });
    expectCleanFailure(result, /migration 2026-11-21_0001_accounts failed: relation "domains" already exists/);
  });

  it('on SIGTERM during start-up: finishes starting, drains, stops the embedded PostgreSQL and exits 0', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'dmci-earlyterm-'));
    dirs.push(dataDir);
    const child = spawn(process.execPath, [binScript('dmci'), 'start'], { cwd: REPO_ROOT, env: cleanEnv({ ...(await baseEnv()), DMCI_DATA_DIR: dataDir }), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let signalled = false;
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        // Logged once the signal handlers are in place, while PostgreSQL is still starting. One signal only: a second skips the drain.
        if (!signalled && output.includes('starting embedded PostgreSQL')) {
          signalled = true;
          child.kill('SIGTERM');
          resolve();
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    });
    expect(await exited, output).toBe(0);
    expect(output).toContain('stopping embedded PostgreSQL');
    expect(existsSync(join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
  });
});
