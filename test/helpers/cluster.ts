import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { binScript, runDmci } from './run.ts';

/**
 * Real dmci nodes as child processes (`node bin/dmci.mjs start`, prebuilt:
 * see binScript), for tests that need several nodes on one PostgreSQL, a
 * SIGKILL, or the CLI.
 */
const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

export const nodeEnv = (databaseUrl: string, extra: Record<string, string> = {}): Record<string, string> => ({
  DATABASE_URL: databaseUrl,
  DMCI_PORT: '0',
  DMCI_OPS_PORT: '0',
  DMCI_CONSOLE_PORT: '0',
  DMCI_LDAP_PORT: '0',
  DMCI_LDAPS_PORT: '0',
  DMCI_HOST: '127.0.0.1',
  DMCI_OPS_HOST: '127.0.0.1',
  DMCI_LOG_LEVEL: 'info',
  DMCI_ARGON2_MEMORY_KIB: '1024',
  DMCI_LOGIN_DELAY_MAX_MS: '0',
  DMCI_NOTIFY_BATCH_MS: '2',
  DMCI_POLL_INTERVAL_MS: '500',
  DMCI_SHUTDOWN_GRACE_MS: '2000',
  ...extra,
});

export interface NodeProcess {
  readonly name: string;
  readonly url: string;
  readonly opsUrl: string;
  readonly child: ChildProcess;
  readonly logs: Array<Record<string, unknown>>;
  /** Resolves with the exit code (or the signal name). */
  readonly exited: Promise<number | string>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
}

export async function startNode(name: string, databaseUrl: string, extra: Record<string, string> = {}): Promise<NodeProcess> {
  const child = spawn(process.execPath, [binScript('dmci'), 'start'], {
    cwd: repoRoot,
    env: { ...process.env, ...nodeEnv(databaseUrl, { DMCI_NODE_ID: name, ...extra }) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  const listening = new Promise<{ port: number; opsPort: number }>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'dmci listening') resolve({ port: entry.port as number, opsPort: entry.opsPort as number });
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`node ${name} exited (${code}) before listening: ${stderr.slice(-2000)}`)));
  });
  const { port, opsPort } = await listening;
  return {
    name,
    url: `ws://127.0.0.1:${port}`,
    opsUrl: `http://127.0.0.1:${opsPort}`,
    child,
    logs,
    exited,
    async kill(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** Runs `dmci ARGS…` against a database and returns its exit code and output. */
export async function runCli(args: string[], databaseUrl: string, options: { stdin?: string; env?: Record<string, string> } = {}) {
  const result = await runDmci(args, { env: { ...nodeEnv(databaseUrl), DMCI_LOG_LEVEL: 'warn', ...options.env }, input: options.stdin ?? '' });
  return { code: result.code ?? 1, stdout: result.stdout, stderr: result.stderr };
}
