import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { z } from 'zod';
import { DomainName, EmailAddress, LanguageTag, Password, Role } from '../../protocol/index.ts';
import { cliActor as systemActor } from './cli-actor.ts';
import { ConfigError, loadConfig, type Config } from '../config/config.ts';
import { NoClusterError } from '../db/embedded-postgres.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { DMCI_VERSION } from '../version.ts';
import { registerBackupCommands } from './backup-commands.ts';
import { registerAuditCommands } from './audit-commands.ts';
import { registerScreenCommands } from './screen-commands.ts';
import { DmciError } from '../errors.ts';
import { createLogger } from '../log/logger.ts';
import { withServices } from './cli-context.ts';
import { registerDirectoryCommands } from './directory-commands.ts';
import { registerFreeBusyCommands } from './freebusy-commands.ts';
import { registerResourceCommands } from './resource-commands.ts';
import { registerImipCommands } from './imip-commands.ts';
import { readPassword } from './read-password.ts';
import { CliOutput } from './output.ts';
import { processIo, type CliIo } from './cli-io.ts';

/**
 * The `dmci` command. Every subcommand but `start` opens the database, does
 * one thing and exits; they work while the server runs, against the same
 * database. Exit codes: 0 done, 1 refused or failed, 2 bad usage or config.
 */
export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  let exitCode = 0;
  const out = new CliOutput(io);
  // Known before parsing: with --json even a usage error commander finds comes out as JSON.
  const jsonErrors = argv.includes('--json');
  let usageMessage = '';
  const program = new Command('dmci')
    .description('dmci: calendar, free/busy and GAL sync server for desktop connectors')
    .version(DMCI_VERSION, '-V, --version', 'print the version and exit')
    .option('--json', 'print machine-readable JSON (errors too: one JSON object on stderr)')
    .exitOverride()
    .configureOutput({ writeOut: (text) => out.write(text), writeErr: (text) => (jsonErrors ? (usageMessage += text) : io.stderr.write(text)) });

  const run = (task: (config: Config, json: boolean) => Promise<void>) => async () => {
    const config = loadConfig(io.env, io.cwd);
    await task(config, Boolean(program.opts().json));
  };
  const cliLog = () => createLogger(io.env.DMCI_LOG_LEVEL ?? 'warn', io.stderr);
  const setExitCode = (code: number) => (exitCode = code);
  const context = { run, cliLog, out, io, setExitCode };

  program
    .command('start')
    .description('run a dmci node (embedded PostgreSQL unless DATABASE_URL is set)')
    .action(async () => {
      // Loaded only here: the other commands need none of the doors (about 0.2 s of CPU saved per CLI call).
      const { runServer } = await import('../main.ts');
      exitCode = await runServer(io.env);
    });

  program
    .command('migrate')
    .description('apply pending database migrations and exit')
    .action(
      run(async (config, json) => {
        const result = await withServices(config, cliLog(), ({ db }) => migrateToLatest(db), { migrate: false, create: true });
        const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
        out.print(json, { applied }, applied.length ? `applied: ${applied.join(', ')}` : 'schema is up to date');
      }),
    );

  const domain = program.command('domain').description('manage mail domains');
  domain
    .command('add <name>')
    .description('add a mail domain')
    .action((name: string) =>
      run(async (config, json) => {
        const created = await withServices(config, cliLog(), ({ domains }) => domains.create(systemActor, parse(DomainName, name, 'domain name')));
        out.print(json, created, `domain ${created.name} added`);
      })(),
    );
  domain
    .command('list')
    .description('list mail domains')
    .action(
      run(async (config, json) => {
        const list = await withServices(config, cliLog(), ({ domains }) => domains.list(systemActor));
        if (json) return out.print(json, list, '');
        out.table(['domain', 'accounts', 'created', 'cross-domain sharing', 'calendar attendant'], list.map((d) => [d.name, String(d.accountCount), d.createdAt, d.crossDomainSharing ? 'on' : 'off', d.calendarAttendant ? 'on' : 'off']));
      }),
    );

  domain
    .command('set <name>')
    .description("change a domain's settings (those given, at least one)")
    .addOption(new Option('--cross-domain-sharing <on|off>', 'let calendars be shared with accounts of other domains that allow it too (default off)').choices(['on', 'off']))
    .addOption(
      new Option('--calendar-attendant <on|off>', "iMIP invitations from organizers outside the server write the members' copies (default off; docs/operations.md, Mail)").choices(['on', 'off']),
    )
    .action((name: string, options: { crossDomainSharing?: 'on' | 'off'; calendarAttendant?: 'on' | 'off' }) =>
      run(async (config, json) => {
        if (options.crossDomainSharing === undefined && options.calendarAttendant === undefined) throw new UsageError('give --cross-domain-sharing or --calendar-attendant (or both)');
        const onOff = (v: 'on' | 'off' | undefined) => (v === undefined ? undefined : v === 'on');
        const changes = { crossDomainSharing: onOff(options.crossDomainSharing), calendarAttendant: onOff(options.calendarAttendant) };
        const updated = await withServices(config, cliLog(), ({ domains }) => domains.update(systemActor, parse(DomainName, name, 'domain name'), changes));
        out.print(json, updated, `domain ${updated.name}: cross-domain sharing ${updated.crossDomainSharing ? 'on' : 'off'}, calendar attendant ${updated.calendarAttendant ? 'on' : 'off'}`);
      })(),
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
        const password = parse(Password, options.password ?? (await readPassword(io, `password for ${address}: `)), 'password');
        const { account } = await withServices(config, cliLog(), ({ accounts }) =>
          accounts.create(systemActor, { email: address, displayName: options.name, password, role: options.role }),
        );
        out.print(json, account, `account ${account.email} added (${account.role})`);
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
        if (json) return out.print(json, page, '');
        out.table(['email', 'name', 'role', 'enabled'], page.accounts.map((a) => [a.email, a.displayName, a.role, a.enabled ? 'yes' : 'no']));
        if (page.hasMore) out.write(`(more than ${options.limit}; use --limit)\n`);
      })(),
    );
  for (const [verb, enabled] of [['disable', false], ['enable', true]] as const) {
    user
      .command(`${verb} <email>`)
      .description(enabled ? 'enable an account' : 'disable an account: its live sessions close within a second')
      .action((email: string) =>
        run(async (config, json) => {
          const account = await withServices(config, cliLog(), ({ accounts }) => accounts.setEnabled(systemActor, parse(EmailAddress, email, 'email address'), enabled));
          out.print(json, account, `account ${account.email} ${enabled ? 'enabled' : 'disabled'}`);
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
        const password = parse(Password, options.password ?? (await readPassword(io, `new password for ${address}: `)), 'password');
        const account = await withServices(config, cliLog(), ({ accounts }) => accounts.setPassword(systemActor, address, password));
        out.print(json, account, `password of ${account.email} changed; its sessions were closed`);
      })(),
    );

  user
    .command('language <email> [tag]')
    .description("show an account's language (iMIP mail summaries are written in it; English when not set); with a BCP 47 tag (de, fr-CA) set it, `default` unsets it")
    .action((email: string, tag: string | undefined) =>
      run(async (config, json) => {
        const address = parse(EmailAddress, email, 'email address');
        const language = tag === undefined ? undefined : tag === 'default' ? null : parse(LanguageTag, tag, 'language tag');
        const account = await withServices(config, cliLog(), ({ accounts }) =>
          language === undefined ? accounts.get(systemActor, address) : accounts.update(systemActor, address, { language }),
        );
        out.print(json, account, `${account.email}: language ${account.language ?? 'not set (English)'}`);
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
        out.print(json, storage, `${storage.email}: ${storage.usedBytes} of ${storage.quotaBytes} bytes used${storage.quotaIsDefault ? ' (default quota)' : ''}`);
      })(),
    );

  registerDirectoryCommands(program, context);
  registerBackupCommands(program, context);
  registerAuditCommands(program, context);
  registerScreenCommands(program, context);
  registerFreeBusyCommands(program, context);
  registerResourceCommands(program, context);
  registerImipCommands(program, context);

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    const { code, exitCode: status, message } = describeError(error, usageMessage);
    if (status === 0) return 0;
    if (jsonErrors) io.stderr.write(JSON.stringify({ error: { code, message } }) + '\n');
    else if (!(error instanceof CommanderError)) io.stderr.write(`dmci: ${message}\n`); // commander printed its own
    return status;
  }
}

/**
 * Every failure as a stable code, an exit status (0 done, 1 refused or
 * failed, 2 bad usage or configuration) and one line. The codes are listed
 * in docs/operations.md (§ The dmci command).
 */
function describeError(error: unknown, usageMessage: string): { code: string; exitCode: number; message: string } {
  if (error instanceof CommanderError) {
    return { code: 'USAGE', exitCode: error.exitCode === 0 ? 0 : 2, message: usageMessage.replace(/^error: /, '').trim() || error.message };
  }
  if (error instanceof ConfigError) return { code: 'CONFIG', exitCode: 2, message: error.message };
  if (error instanceof UsageError) return { code: 'USAGE', exitCode: 2, message: error.message };
  if (error instanceof NoClusterError) return { code: 'NO_DATABASE', exitCode: 1, message: error.message };
  if (error instanceof DmciError) return { code: error.code, exitCode: 1, message: `${error.message} (${error.code})` };
  if ((error as Error)?.name === 'StartupError') return { code: 'STARTUP_FAILED', exitCode: 1, message: (error as Error).message };
  return { code: 'FAILED', exitCode: 1, message: (error as Error)?.message ?? String(error) };
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

