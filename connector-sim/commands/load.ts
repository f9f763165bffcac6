import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { parseAddressList, runLoad, type LoadReport, type Percentiles } from '../load.ts';
import { UsageError, type CommandFamily } from './context.ts';

interface LoadOptions {
  clients: string;
  duration: string;
  rampPerSecond?: string;
  sourceAddresses?: string;
  maxPending: string;
  accounts?: string;
}

/** `dmci-sim load`: many idle sessions at once, with connect and auth latency percentiles. */
export const loadCommands: CommandFamily = (program: Command, ctx) => {
  program
    .command('load')
    .description('open N sessions, hold them S seconds, report connect and auth latency percentiles and failures')
    .requiredOption('-c, --clients <n>', 'sessions to open')
    .requiredOption('-d, --duration <seconds>', 'how long to hold them once open')
    .option('--ramp-per-second <r>', 'start at most this many connections per second (default: as fast as --max-pending allows)')
    .option('--source-addresses <list>', 'local addresses to connect from, round-robin: 127.0.0.1-127.0.0.20 or a,b,c')
    .option('--max-pending <n>', 'handshakes in progress at once', '256')
    .option('--accounts <k>', 'with a {n} in --user: spread clients over accounts 1..k (default: one account per client)')
    .addHelpText('after', '\nWith --user load{n}@example.com each client logs in as load1@…, load2@…; without {n} all share one account.')
    .action(async (options: LoadOptions) => {
      const { url, user, password, json } = ctx.globals();
      const clients = wholeNumber(options.clients, '--clients', 1);
      const durationS = Number(options.duration);
      if (!Number.isFinite(durationS) || durationS < 0) throw new UsageError('--duration must be a number of seconds (0 or more)');
      const ramp = options.rampPerSecond === undefined ? undefined : positiveNumber(options.rampPerSecond, '--ramp-per-second');
      const maxPending = wholeNumber(options.maxPending, '--max-pending', 1);
      const accounts = options.accounts === undefined ? clients : wholeNumber(options.accounts, '--accounts', 1);
      let sourceAddresses: string[] | undefined;
      try {
        sourceAddresses = options.sourceAddresses ? parseAddressList(options.sourceAddresses) : undefined;
      } catch (error) {
        throw new UsageError(`--source-addresses: ${(error as Error).message}`);
      }
      if (!user) throw new UsageError('no user: pass --user or set DMCI_USER');
      if (password === undefined) throw new UsageError('no password: pass --password or set DMCI_PASSWORD');

      const bar = !json && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'opening {bar} {value}/{total} sessions, {failed} failed', stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
      bar?.start(clients, 0, { failed: 0 });
      const report = await runLoad({
        url,
        clients,
        durationMs: durationS * 1000,
        maxPending,
        credentials: (index) => ({ login: user.replaceAll('{n}', String((index % accounts) + 1)), password }),
        ...(ramp !== undefined ? { rampPerSecond: ramp } : {}),
        ...(sourceAddresses ? { sourceAddresses } : {}),
        onProgress: (p) => bar?.update(p.done, { failed: p.failed }),
      });
      bar?.stop();
      ctx.print(report, formatReport(report));
      if (report.failed > 0 || report.dropped > 0) ctx.setExitCode(1);
    });
};

export function formatReport(r: LoadReport): string {
  const line = (name: string, p: Percentiles) => `${name.padEnd(8)} p50 ${ms(p.p50)}  p90 ${ms(p.p90)}  p99 ${ms(p.p99)}  max ${ms(p.max)}`;
  const lines = [
    `sessions ${r.connected}/${r.requested} connected, ${r.failed} failed, opened in ${(r.openMs / 1000).toFixed(2)} s`,
    line('connect', r.connect),
    line('auth', r.auth),
    `held     ${(r.heldMs / 1000).toFixed(1)} s, ${r.dropped} dropped by the server`,
  ];
  for (const [reason, count] of Object.entries(r.failures)) lines.push(`failed   ${count} × ${reason}`);
  return lines.join('\n');
}

function ms(value: number): string {
  return `${value.toFixed(2)} ms`;
}

function wholeNumber(text: string, name: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${name} must be a whole number of at least ${min}, not ${JSON.stringify(text)}`);
  return n;
}

function positiveNumber(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${name} must be a positive number, not ${JSON.stringify(text)}`);
  return n;
}
