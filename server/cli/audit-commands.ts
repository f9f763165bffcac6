import { InvalidArgumentError, type Command } from 'commander';
import { withServices, type CommandContext } from './cli-context.ts';
import { cliActor } from './cli-actor.ts';
import { spanMs } from './time-span.ts';

/** `dmci audit`: the audit log, newest first (docs/operations.md "Audit log"). */
export function registerAuditCommands(program: Command, { run, cliLog, out }: CommandContext): void {
  program
    .command('audit')
    .description('show the audit log, newest first: logins, blocks, admin actions, grants')
    .option('--since <when>', 'only records since this time: an ISO date-time or a span back from now (30m, 24h, 7d)', parseSince)
    .option('--user <email>', 'only records this login acted in or was the target of')
    .option('--limit <n>', 'at most this many records', parseLimit, 100)
    .action((options: { since?: Date; user?: string; limit: number }) =>
      run(async (config, json) => {
        const entries = await withServices(config, cliLog(), ({ audit }) => audit.list(cliActor, { since: options.since, user: options.user, limit: options.limit }));
        if (json) return void out.write(JSON.stringify(entries, null, 2) + '\n');
        out.table(
          ['at', 'actor', 'action', 'target', 'address', 'detail'],
          entries.map((e) => [e.at, e.actor, e.action, e.target ?? '', e.address ?? '', JSON.stringify(e.detail)]),
        );
      })(),
    );
}

/** An ISO date-time, or a span back from now: 30m, 24h, 7d. */
export function parseSince(text: string): Date {
  const span = spanMs(text);
  // A span too long for a date (99999999999d) is as unusable as a bad date: both are usage errors, never a query.
  const at = span !== undefined ? new Date(Date.now() - span) : /^\d{4}-\d{2}-\d{2}/.test(text) ? new Date(text) : new Date(Number.NaN);
  if (Number.isNaN(at.getTime())) throw new InvalidArgumentError('give an ISO date-time (2026-11-29T10:00Z) or a span: 30m, 24h, 7d');
  return at;
}

function parseLimit(value: string): number {
  // Decimal digits only: Number() would also take 0x10, 1e3 or ' 5 '.
  const n = /^\d{1,6}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('must be a whole number from 1 to 100000');
  return n;
}
