import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdtemp, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { binScript, cleanEnv, REPO_ROOT, runCommand } from '../helpers/run.ts';
import { freePort } from '../helpers/ports.ts';

/**
 * Issue 2 §3: with DATABASE_URL unset, `dmci start` runs a real PostgreSQL
 * under its data directory: it comes up, the CLI works against it while the
 * server runs, SIGTERM stops both cleanly, and a restart finds the data. As
 * root (PostgreSQL then runs as `postgres`) and as an ordinary user.
 */
const ORDINARY_USER = 'dmcitest';
const PASSWORD = 'embedded password';
const started: ChildProcess[] = [];
const dirs: string[] = [];

afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface Node {
  env: Record<string, string>;
  asUser?: string;
}

async function makeNode(asUser?: string): Promise<Node> {
  const dataDir = await mkdtemp(join(tmpdir(), 'dmci-embedded-'));
  dirs.push(dataDir);
  if (asUser) {
    const uid = Number(execFileSync('id', ['-u', asUser]).toString());
    const gid = Number(execFileSync('id', ['-g', asUser]).toString());
    await chown(dataDir, uid, gid);
    await chmod(dataDir, 0o700);
  }
  const [port, opsPort] = [await freePort(), await freePort()];
  return {
    asUser,
    env: {
      DMCI_DATA_DIR: dataDir,
      DMCI_PORT: String(port),
      DMCI_OPS_PORT: String(opsPort),
      DMCI_CONSOLE_PORT: '0',
      DMCI_LDAP_PORT: '0',
      DMCI_LDAPS_PORT: '0',
      DMCI_HOST: '127.0.0.1',
      DMCI_OPS_HOST: '127.0.0.1',
      DMCI_ARGON2_MEMORY_KIB: '1024',
      DMCI_SHUTDOWN_GRACE_MS: '2000',
      DMCI_LOG_LEVEL: 'info',
    },
  };
}

/** argv for running `bin/dmci.mjs …` as the node's user. */
function command(node: Node, args: string[]): [string, string[]] {
  const script = [binScript('dmci'), ...args];
  return node.asUser ? ['runuser', ['-u', node.asUser, '--', process.execPath, ...script]] : [process.execPath, script];
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  /** The node process itself (runuser forks it as a child). */
  pid(): number;
}

async function start(node: Node): Promise<Running> {
  const [cmd, args] = command(node, ['start']);
  const child = spawn(cmd, args, { cwd: REPO_ROOT, env: cleanEnv(node.env), stdio: ['ignore', 'pipe', 'pipe'] });
  started.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const opsUrl = `http://127.0.0.1:${node.env.DMCI_OPS_PORT}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dmci start exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${opsUrl}/readyz`).then((r) => r.status === 200, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`dmci start not ready after 90 s:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return {
    child,
    output: () => output,
    exited,
    pid() {
      if (!node.asUser) return child.pid!;
      return Number(execFileSync('pgrep', ['-P', String(child.pid)]).toString().trim().split('\n')[0]);
    },
  };
}

async function stop(running: Running, node: Node): Promise<void> {
  process.kill(running.pid(), 'SIGTERM');
  const code = await running.exited;
  expect(code, running.output()).toBe(0);
  expect(running.output()).toContain('"msg":"stopped"');
  expect(running.output()).toContain('stopping embedded PostgreSQL');
  expect(existsSync(join(node.env.DMCI_DATA_DIR!, 'postgres', 'postmaster.pid'))).toBe(false);
  expect(existsSync(join(node.env.DMCI_DATA_DIR!, 'postgres', '.s.PGSQL.5432'))).toBe(false);
}

async function cli(node: Node, args: string[], input?: string) {
  const [cmd, argv] = command(node, args);
  const result = await runCommand(cmd, argv, { env: node.env, ...(input !== undefined ? { input } : {}), timeoutMs: 90_000 });
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result;
}

async function login(node: Node, email: string): Promise<void> {
  const client = new DmciClient({ url: `ws://127.0.0.1:${node.env.DMCI_PORT}`, login: email, password: PASSWORD });
  const welcome = await client.connect();
  expect(welcome.account.email).toBe(email);
  await client.close();
}

async function lifecycle(node: Node): Promise<void> {
  const first = await start(node);
  expect(existsSync(join(node.env.DMCI_DATA_DIR!, 'postgres', 'PG_VERSION'))).toBe(true);
  // The CLI attaches to the cluster the server runs, and leaves it running.
  await cli(node, ['domain', 'add', 'embedded.example']);
  await cli(node, ['user', 'add', 'emma@embedded.example', '--name', 'Emma'], `${PASSWORD}\n`);
  await login(node, 'emma@embedded.example');
  await stop(first, node);

  const second = await start(node);
  await login(node, 'emma@embedded.example'); // persistent across restarts
  await stop(second, node);
}

describe('embedded PostgreSQL', () => {
  it('two instances with different data directories run side by side with no setting for PostgreSQL: Unix sockets only, no TCP port', async () => {
    const [a, b] = [await makeNode(), await makeNode()];
    const [first, second] = await Promise.all([start(a), start(b)]);
    for (const node of [a, b]) {
      const cluster = await realpath(join(node.env.DMCI_DATA_DIR!, 'postgres'));
      expect(existsSync(join(cluster, '.s.PGSQL.5432'))).toBe(true); // in its own cluster directory (short enough here for a socket path)
      // No TCP listener: listen_addresses is empty.
      const options = execFileSync('cat', [join(cluster, 'postmaster.opts')]).toString();
      expect(options).toContain(`listen_addresses=`);
      expect(options).not.toMatch(/listen_addresses=\S*127/);
    }
    await cli(a, ['domain', 'add', 'a.example']);
    const listed = await cli(b, ['--json', 'domain', 'list']);
    expect(JSON.parse(listed.stdout)).toEqual([]); // b has its own database
    await Promise.all([stop(first, a), stop(second, b)]);
  }, 240_000);

  it('as the current user: starts, serves the CLI while running, stops cleanly on SIGTERM, keeps its data', async () => {
    await lifecycle(await makeNode());
  }, 240_000);

  it.runIf(userInfo().uid === 0)('as root with a data directory inside a private directory (a checkout in /root): the cluster lives in /var/lib/dmci', async () => {
    const node = await makeNode();
    const privateParent = await mkdtemp(join(tmpdir(), 'dmci-private-'));
    dirs.push(privateParent);
    await chmod(privateParent, 0o700);
    node.env.DMCI_DATA_DIR = join(privateParent, 'data');
    await lifecycle(node);
    const cluster = await realpath(join(node.env.DMCI_DATA_DIR, 'postgres'));
    expect(cluster).toMatch(/^\/var\/lib\/dmci\/[0-9a-f]{16}\/postgres$/);
    expect(existsSync(join(cluster, 'PG_VERSION'))).toBe(true);
    dirs.push(dirname(cluster));
  }, 240_000);

  // Needs root to create the user and switch to it (CI runs as root); skipped otherwise.
  it.runIf(userInfo().uid === 0)(`as an ordinary user (${ORDINARY_USER}, created if missing)`, async () => {
    try {
      execFileSync('id', [ORDINARY_USER], { stdio: 'ignore' });
    } catch {
      execFileSync('useradd', ['--create-home', '--shell', '/usr/sbin/nologin', ORDINARY_USER]);
    }
    // The user runs the repository's code: a checkout inside a private directory (mktemp -d) must let it through meanwhile.
    const restore = await openPathTo(REPO_ROOT);
    try {
      await lifecycle(await makeNode(ORDINARY_USER));
    } finally {
      await restore();
    }
  }, 240_000);

});

/** Adds search permission for others to every directory above `path` that lacks it; returns a function putting the modes back. */
async function openPathTo(path: string): Promise<() => Promise<void>> {
  const changed: Array<[string, number]> = [];
  for (let dir = path; dir !== dirname(dir); dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) {
      changed.push([dir, mode & 0o7777]);
      await chmod(dir, (mode & 0o7777) | 0o001);
    }
  }
  return async () => {
    for (const [dir, mode] of changed) await chmod(dir, mode);
  };
}
