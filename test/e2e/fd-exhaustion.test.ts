import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { afterAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { AccountService } from '../../server/accounts/account.service.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { PasswordHasher } from '../../server/accounts/password-hasher.ts';
import { DomainService } from '../../server/domains/domain.service.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';
import { binScript, cleanEnv, REPO_ROOT } from '../helpers/run.ts';

/**
 * A node that runs out of file descriptors (a connection flood, or an
 * open-file limit too low for its sessions: the 20,000-session target needs
 * `ulimit -n` raised) must refuse what it cannot accept and stay up, then
 * serve again once descriptors free up. (libuv accepts and drops connections
 * it has no descriptor for; this guards that nothing of ours turns EMFILE into
 * a crash.) The flood comes from 127.0.0.1, trusted here: otherwise hundreds
 * of sockets closed without a hello would, rightly, block the address.
 */
let child: ChildProcess | undefined;
let databaseUrl: string | undefined;
const sockets: WebSocket[] = [];

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  if (child && child.exitCode === null) child.kill('SIGKILL');
  if (databaseUrl) await dropTestDatabase(databaseUrl);
});

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('file descriptor exhaustion', { timeout: 120_000 }, () => {
  it('refuses connections it cannot accept, stays up, and serves again afterwards', async () => {
    databaseUrl = await createTestDatabase();
    const db = openTestDb(databaseUrl);
    const hasher = new PasswordHasher({ concurrency: 1, memoryKiB: 1024 });
    await new DomainService(db).create(systemActor, 'fd.example');
    await new AccountService(db, hasher, 3_600_000).create(systemActor, { email: 'fred@fd.example', displayName: 'Fred', password: 'fred password', role: 'user' });
    await db.destroy();

    const [port, opsPort] = [await freePort(), await freePort()];
    const env = { DATABASE_URL: databaseUrl, DMCI_PORT: String(port), DMCI_OPS_PORT: String(opsPort), DMCI_CONSOLE_PORT: '0', DMCI_LDAP_PORT: '0', DMCI_LDAPS_PORT: '0', DMCI_HOST: '127.0.0.1', DMCI_OPS_HOST: '127.0.0.1', DMCI_LOG_LEVEL: 'warn', DMCI_DB_POOL_SIZE: '2', DMCI_ARGON2_MEMORY_KIB: '1024', DMCI_TRUSTED_HOSTS: '127.0.0.1/32' };
    // From source (tsx), as installed: the run's bundle (binScript) loads its npm packages' modules in parallel and runs out of descriptors at 200 before it starts.
    child = spawn('sh', ['-c', `ulimit -n 200 && exec "${process.execPath}" "${binScript('dmci', { fromSource: true })}" start`], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const ops = `http://127.0.0.1:${opsPort}`;
    for (let i = 0; ; i++) {
      if (child.exitCode !== null) throw new Error(`dmci start exited early:\n${output}`);
      if (await fetch(`${ops}/readyz`).then((r) => r.ok, () => false)) break;
      if (i > 300) throw new Error(`not ready:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // More sockets than the node has descriptors for.
    const settled = Array.from({ length: 400 }, () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`);
      sockets.push(ws);
      return new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('error', () => resolve('error'));
        ws.once('unexpected-response', () => resolve('refused'));
      });
    });
    const outcomes = await Promise.race([Promise.all(settled), new Promise<string[]>((resolve) => setTimeout(() => resolve([]), 5000))]);
    expect(child.exitCode, output).toBeNull();
    expect(outcomes.filter((o) => o === 'open').length).toBeLessThan(400);

    for (const ws of sockets) ws.terminate();
    sockets.length = 0;
    let served = false;
    for (let i = 0; i < 50 && !served; i++) {
      const client = new DmciClient({ url: `ws://127.0.0.1:${port}`, login: 'fred@fd.example', password: 'fred password' });
      served = await client.connect().then(
        async () => (await client.close(), true),
        async () => (await new Promise((resolve) => setTimeout(resolve, 100)), false),
      );
    }
    expect(served, output).toBe(true);
    expect((await fetch(`${ops}/healthz`)).status).toBe(200);
    expect(child.exitCode, output).toBeNull();
    child.kill('SIGTERM');
    expect(await new Promise((resolve) => child!.once('exit', resolve))).toBe(0);
  });
});
