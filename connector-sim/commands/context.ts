import type { Command } from 'commander';
import { DmciClient, type DmciConnectionError } from '../client.ts';

/** Global options every `dmci-sim` command shares. */
export interface GlobalOptions {
  url: string;
  user: string | undefined;
  password: string | undefined;
  json: boolean;
}

/** What a command family gets from cli.ts. */
export interface SimContext {
  /** The global options as parsed (call inside an action). */
  globals(): GlobalOptions;
  /** Sets the process exit code (0 done, 1 refused or failed, 2 bad usage). */
  setExitCode(code: number): void;
  /** Prints `value` as JSON with --json, else `text`. */
  print(value: unknown, text: string): void;
  /** A connected client for --user/--password; throws UsageError when they are missing. */
  connect(options?: { clientName?: string; reconnect?: boolean }): Promise<DmciClient>;
}

/**
 * A command family: adds its subcommands to the program. Add a file under
 * commands/ exporting one of these, and list it in cli.ts.
 */
export type CommandFamily = (program: Command, ctx: SimContext) => void;

/** Bad usage: printed as `dmci-sim: message`, exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function createContext(program: Command, env: NodeJS.ProcessEnv, setExitCode: (code: number) => void): SimContext {
  const globals = (): GlobalOptions => {
    const opts = program.opts<{ url?: string; user?: string; password?: string; json?: boolean }>();
    return {
      url: opts.url ?? env.DMCI_URL ?? 'ws://127.0.0.1:8390',
      user: opts.user ?? env.DMCI_USER,
      password: opts.password ?? env.DMCI_PASSWORD,
      json: Boolean(opts.json),
    };
  };
  return {
    globals,
    setExitCode,
    print(value, text) {
      process.stdout.write(globals().json ? JSON.stringify(value, null, 2) + '\n' : text + '\n');
    },
    async connect(options = {}) {
      const { url, user, password } = globals();
      if (!user) throw new UsageError('no user: pass --user or set DMCI_USER');
      if (password === undefined) throw new UsageError('no password: pass --password or set DMCI_PASSWORD');
      const client = new DmciClient({ url, login: user, password, clientName: options.clientName ?? 'dmci-sim', requestTimeoutMs: 30_000, reconnect: options.reconnect ?? false });
      await client.connect();
      return client;
    },
  };
}

/** One line describing why a connection failed, with its close and error codes. */
export function describeConnectionError(error: DmciConnectionError): string {
  const codes = [error.closeCode !== undefined ? `close ${error.closeCode}` : undefined, error.errorCode].filter(Boolean).join(', ');
  return codes ? `${error.message} (${codes})` : error.message;
}
