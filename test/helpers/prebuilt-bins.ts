import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Esbuild from 'esbuild';
import type { Plugin } from 'vitest/config';

/**
 * The repository's commands (`bin/dmci.mjs`, `bin/dmci-sim.mjs`) bundled once per test run, for
 * the tests that spawn them. Run from source, every spawn loads a few hundred modules through
 * tsx's loader (about 2 s of CPU before `main` runs, more for `start`); the bundle loads in a
 * fraction of that. The bundle is the same bin script and the same sources compiled by the same
 * esbuild tsx uses, with two differences that keep its behaviour the source's:
 * - `tsx/esm/api`'s `register` is a no-op (there is no TypeScript left to load), and
 * - every `import.meta.url` is the URL of the source file it is written in, so files found
 *   beside the sources (package.json, the console's assets) are found where they are.
 * The calendar worker threads (server/calendar/ical-work/pool.ts) load the compiled worker.ts
 * built beside the bins (compiled-worker.ts) instead of registering tsx in each thread: in the
 * spawned bins and, through compiledWorkerForTests (vitest.config.ts), in the servers the tests
 * start in-process; that is about 2.5 s of CPU less per server started (two workers).
 * npm packages stay external (resolved from node_modules as before). The output goes under the
 * repository (so those imports resolve) in dist/ (gitignored, not linted), one directory per run
 * (two runs in one checkout never share files), removed at teardown.
 * A few tests still spawn the source bin scripts (`runBin(..., { fromSource: true })`) or load
 * the worker from source (`fromSource` of IcalWorkerPool), so the tsx path an operator runs
 * stays tested.
 */
const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PREBUILT_ROOT = join(REPO_ROOT, 'dist', 'test-bins');

const COMPILED_WORKER_MODULE = join(REPO_ROOT, 'server/calendar/ical-work/compiled-worker.ts');

export type BinName = 'dmci' | 'dmci-sim';

/** One directory per vitest process (the global setup builds, the config's plugin reads; both run in the main process). */
function runDir(pid: number): string {
  return join(PREBUILT_ROOT, `run-${pid}`);
}

export async function buildBins(): Promise<{ dir: string; bins: Record<BinName, string> }> {
  // esbuild is tsx's own dependency (the compiler that runs the sources): resolved through tsx, so no second copy.
  const requireFromTsx = createRequire(createRequire(import.meta.url).resolve('tsx'));
  const esbuild = (await import(pathToFileURL(requireFromTsx.resolve('esbuild')).href)) as typeof Esbuild;
  await removeAbandoned();
  const dir = runDir(process.pid);
  await rm(dir, { recursive: true, force: true }); // a dead run's, should its pid come again
  // 0755: the embedded PostgreSQL test runs the bundle as an ordinary user.
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const workerUrl = pathToFileURL(join(dir, 'ical-worker.mjs')).href;
  await esbuild.build({
    entryPoints: { dmci: join(REPO_ROOT, 'bin/dmci.mjs'), 'dmci-sim': join(REPO_ROOT, 'bin/dmci-sim.mjs'), 'ical-worker': join(REPO_ROOT, 'server/calendar/ical-work/worker.ts') },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true, // `dmci start` loads the server lazily (server/cli/main.ts); a chunk keeps it lazy
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'dmci-source-layout',
        setup(build) {
          build.onResolve({ filter: /^tsx\/esm\/api$/ }, () => ({ path: 'tsx-register', namespace: 'dmci-prebuilt' }));
          build.onLoad({ filter: /.*/, namespace: 'dmci-prebuilt' }, () => ({ contents: 'export function register() {}', loader: 'js' }));
          build.onLoad({ filter: /compiled-worker\.ts$/ }, (args) => (args.path === COMPILED_WORKER_MODULE ? { contents: compiledWorkerModule(workerUrl), loader: 'js' } : undefined));
          build.onLoad({ filter: /\.(ts|mjs)$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            const url = JSON.stringify(pathToFileURL(args.path).href);
            return { contents: source.replaceAll('import.meta.url', url), loader: args.path.endsWith('.ts') ? 'ts' : 'js' };
          });
        },
      },
    ],
  });
  return { dir, bins: { dmci: join(dir, 'dmci.mjs'), 'dmci-sim': join(dir, 'dmci-sim.mjs') } };
}

export async function removeBins(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

function compiledWorkerModule(url: string): string {
  return `export const compiledWorkerUrl = ${JSON.stringify(url)};`;
}

/**
 * A vite plugin (vitest.config.ts): the servers tests start in-process get this run's compiled
 * calendar worker too. Without a build (none made in this process), the source module stays.
 */
export function compiledWorkerForTests(): Plugin {
  return {
    name: 'dmci-compiled-ical-worker',
    enforce: 'pre',
    load(id) {
      if (id !== COMPILED_WORKER_MODULE) return null;
      const file = join(runDir(process.pid), 'ical-worker.mjs');
      return existsSync(file) ? compiledWorkerModule(pathToFileURL(file).href) : null;
    },
  };
}

/** Directories of runs that ended without their teardown (killed): their process is gone. */
async function removeAbandoned(): Promise<void> {
  const entries = await readdir(PREBUILT_ROOT).catch(() => []);
  for (const entry of entries) {
    const pid = Number(/^run-(\d+)-/.exec(entry)?.[1]);
    if (!pid || isAlive(pid)) continue;
    await rm(join(PREBUILT_ROOT, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
