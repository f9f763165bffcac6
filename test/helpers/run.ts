import { spawn } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import type { BinName } from './prebuilt-bins.ts';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/**
 * The script to spawn for one of the repository's commands: the bundle the
 * global setup built for this run (test/helpers/prebuilt-bins.ts: the same bin
 * script and sources, without seconds of tsx loading per spawn), or with
 * `fromSource` (or outside vitest, e.g. `npm run torture`) `bin/<name>.mjs`
 * itself, loading the TypeScript through tsx as an operator's install does.
 */
export function binScript(bin: BinName, options: { fromSource?: boolean } = {}): string {
  const source = `${REPO_ROOT}bin/${bin}.mjs`;
  if (options.fromSource) return source;
  try {
    return inject('dmciBins')?.[bin] ?? source;
  } catch {
    return source; // not in a vitest worker
  }
}

/**
 * Runs one of the repository's commands (`dmci`, `dmci-sim`; see binScript)
 * as a child process, as an operator would, and collects its output.
 * The environment is the test process's minus anything DMCI_/DATABASE_URL,
 * plus `env`.
 */
export function runBin(bin: BinName, args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; fromSource?: boolean } = {}): Promise<RunResult> {
  return runCommand(process.execPath, [binScript(bin, options), ...args], options);
}

/**
 * Runs `dmci ARGS…` in this process: the same `main` that `bin/dmci.mjs`
 * calls, with the same clean environment `runBin` gives a child, stdin from
 * `input` (not a terminal) and stdout/stderr collected. A spawned `dmci`
 * spends seconds loading modules through tsx before it does anything; tests
 * of what a command does use this, tests of the process itself (`start`,
 * exit without hanging, the bin script) spawn it with `runBin`.
 */
export async function runDmci(args: string[], options: { env?: Record<string, string | undefined>; input?: string } = {}): Promise<RunResult> {
  const { main } = await import('../../server/cli/main.ts');
  let stdout = '';
  let stderr = '';
  const collect = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, done) {
        append(chunk.toString());
        done();
      },
    });
  const code = await main(['node', 'dmci', ...args], {
    stdout: collect((text) => (stdout += text)),
    stderr: collect((text) => (stderr += text)),
    stdin: Readable.from([Buffer.from(options.input ?? '')]),
    env: cleanEnv(options.env),
    cwd: REPO_ROOT,
  });
  return { code, signal: null, stdout, stderr };
}

export function runCommand(command: string, args: string[], options: { env?: Record<string, string | undefined>; input?: string; timeoutMs?: number; cwd?: string } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? REPO_ROOT, env: cleanEnv(options.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(options.input ?? '');
  });
}

export function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('DMCI_') || key === 'DATABASE_URL' || key.startsWith('VITEST') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}
