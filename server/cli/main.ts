import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { DomainName, EmailAddress, Password, Role } from '../../protocol/index.ts';
import { systemActor } from '../accounts/actor.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { DmciError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { withServices } from './cli-context.ts';
import { registerDirectoryCommands } from './directory-commands.ts';
import { readPassword } from './read-password.ts';
import { printTable } from './output.ts';

/**
 * The `dmci` command. Every subcommand but `start` opens the database, does
 * one thing and exits; they work while the server runs, against the same
 * database. Exit codes: 0 done, 1 refused or failed, 2 bad usage or config.
 */
export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('dmci')
    .description('dmci: calendar, free/busy and GAL sync server for desktop connectors')
    .option('--json', 'print machine-readable JSON')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });

  const run = (task: (config: Config, json: boolean) => Promise<void>) => async () => {
    const config = loadConfig();
    await task(config, Boolean(program.opts().json));
  };
  const cliLog = () => createLogger(process.env.DMCI_LOG_LEVEL ?? 'warn', process.stderr);

  program
    .command('start')
    .description('run a dmci node (embedded PostgreSQL unless DATABASE_URL is set)')
    .action(async () => {
      // Loaded only here: the other commands need none of the doors (about 0.2 s of CPU saved per CLI call).
      const { runServer } = await import('../main.ts');
      exitCode = await runServer();
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(
      run(async (config, json) => {
        const result = await withServices(config, cliLog(), ({ db }) => migrateToLatest(db), { migrate: false });
        const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        print(json, { applied }, applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      }),
    );

  const domain = program.command('domain').description('manage mail domains');
  domain
    .command('add <name>')
    .description('add a mail domain')
    .action((name: string) =>
      run(async (config, json) => {
        const created = await withServices(config, cliLog(), ({ domains }) => domains.create(systemActor, parse(DomainName, name, 'domain name')));
        print(json, created, `domain ${created.name} added`);
      })(),
    );
  domain
    .command('list')
    .description('list mail domains')
    .action(
      run(async (config, json) => {
        const list = await withServices(config, cliLog(), ({ domains }) => domains.list(systemActor));
        if (json) return print(json, list, '');
        printTable(['domain', 'accounts', 'created'], list.map((d) => [d.name, String(d.accountCount), d.createdAt]));
      }),
    );

  const user = program.command('user').description('manage accounts');
  user
    .command('add <email>')
    .description('add an account (the domain must exist); the password is read from stdin or prompted unless --password is given')
    .requiredOption('-n, --name <displayName>', 'display name')
    .option('-p, --password <password>', 'the password (visible in the process list: prefer stdin)')
    .addOption(new Option('-r, --role <role>', 'role').choices(Role.options).default('user'))
    .action((email: string, options: { name: string; password?: string; role: z.infer<typeof Role> }) =>
      run(async (config, json) => {
        const address = parse(EmailAddress, email, 'email address');
        const password = parse(Password, options.password ?? (await readPassword(`password for ${address}: `)), 'password');
        const { account } = await withServices(config, cliLog(), ({ accounts }) =>
          accounts.create(systemActor, { email: address, displayName: options.name, password, role: options.role }),
        );
        print(json, account, `account ${account.email} added (${account.role})`);
      })(),
    );
  user
    .command('list')
    .description('list accounts')
    .option('-d, --domain <domain>', 'only this domain')
    .option('--limit <n>', 'at most this many', (v) => parsePositive(v), 1000)
    .action((options: { domain?: string; limit: number }) =>
      run(async (config, json) => {
        const page = await withServices(config, cliLog(), ({ accounts }) =>
          accounts.list(systemActor, { domain: options.domain ? parse(DomainName, options.domain, 'domain name') : undefined, limit: options.limit }),
        );
        if (json) return print(json, page, '');
        printTable(['email', 'name', 'role', 'enabled'], page.accounts.map((a) => [a.email, a.displayName, a.role, a.enabled ? 'yes' : 'no']));
        if (page.hasMore) process.stdout.write(`(more than ${options.limit}; use --limit)\n`);
      })(),
    );
  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    user
      .command(`${verb} <email>`)
      .description(enabled ? 'enable an account' : 'disable an account: its live sessions close within a second')
      .action((email: string) =>
        run(async (config, json) => {
          const account = await withServices(config, cliLog(), ({ accounts }) => accounts.setEnabled(systemActor, parse(EmailAddress, email, 'email address'), enabled));
          print(json, account, `account ${account.email} ${enabled ? 'enabled' : 'disabled'}`);
        })(),
      );
  }
  user
    .command('passwd <email>')
    .description("set an account's password (read from stdin or prompted); revokes its sessions")
    .option('-p, --password <password>', 'the password (visible in the process list: prefer stdin)')
    .action((email: string, options: { password?: string }) =>
      run(async (config, json) => {
        const address = parse(EmailAddress, email, 'email address');
        const password = parse(Password, options.password ?? (await readPassword(`new password for ${address}: `)), 'password');
        const account = await withServices(config, cliLog(), ({ accounts }) => accounts.setPassword(systemActor, address, password));
        print(json, account, `password of ${account.email} changed; its sessions were closed`);
      })(),
    );

  user
    .command('quota <email> [quota]')
    .description("show an account's storage use and quota; with a quota (bytes, or with K, M, G: 500M) set it, `default` returns it to DMCI_STORAGE_QUOTA_BYTES")
    .action((email: string, quota: string | undefined) =>
      run(async (config, json) => {
        const address = parse(EmailAddress, email, 'email address');
        const bytes = quota === undefined ? undefined : parseQuota(quota);
        const storage = await withServices(config, cliLog(), ({ storage: service }) =>
          bytes === undefined ? service.get(systemActor, address) : service.setQuota(systemActor, address, bytes),
        );
        print(json, storage, `${storage.email}: ${storage.usedBytes} of ${storage.quotaBytes} bytes used${storage.quotaIsDefault ? ' (default quota)' : ''}`);
      })(),
    );

  registerDirectoryCommands(program, { run, cliLog, setExitCode: (code) => (exitCode = code) });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander already printed it
  if (error instanceof ConfigError || error instanceof UsageError) {
    process.stderr.write(`dmci: ${error.message}\n`);
    return 2;
  }
  if (error instanceof DmciError) {
    process.stderr.write(`dmci: ${error.message} (${error.code})\n`);
    return 1;
  }
  process.stderr.write(`dmci: ${(error as Error).message ?? String(error)}\n`);
  return 1;
}

class UsageError extends Error {}

function parse<T>(schema: z.ZodType<T>, value: string, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new UsageError(`${JSON.stringify(value)} is not a valid ${what}: ${result.error.issues[0]?.message}`);
  return result.data;
}

function parsePositive(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

/** `default` → null; else bytes, with an optional binary K, M or G suffix. */
function parseQuota(text: string): number | null {
  if (text === 'default') return null;
  const match = /^(\d+)([KMG]?)$/i.exec(text);
  if (!match) throw new UsageError(`${JSON.stringify(text)} is not a quota: give bytes (e.g. 268435456 or 256M) or \`default\``);
  const bytes = Number(match[1]) * 1024 ** ' KMG'.indexOf((match[2] || ' ').toUpperCase());
  if (!Number.isSafeInteger(bytes)) throw new UsageError(`${text} is too large`);
  return bytes;
}

function print(json: boolean, value: unknown, text: string): void {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text + '\n');
}
