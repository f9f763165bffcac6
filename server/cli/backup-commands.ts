import type { Command } from 'commander';
import { resolve } from 'node:path';
import pg from 'pg';
import { restoreBackup } from '../backup/restore.ts';
import { writeBackup } from '../backup/backup.ts';
import { resolveDatabase } from '../db/resolve-database.ts';
import { DMCI_VERSION } from '../version.ts';

import type { CommandContext } from './cli-context.ts';

/**
 * `dmci backup FILE` and `dmci restore FILE` (docs/operations.md § Backup
 * and restore). Backup works while the server runs, against the database
 * the configuration names (never creating one); restore may create the
 * embedded cluster, and fills an empty database only.
 */
export function registerBackupCommands(program: Command, { run, cliLog, out, io }: CommandContext): void {
  program
    .command('backup <file>')
    .description('write a consistent backup of the whole database to FILE (works while the server runs)')
    .action((file: string) =>
      run(async (config, json) => {
        const location = await resolveDatabase(config, cliLog(), `dmci-cli:${process.pid}`, { create: false });
        try {
          const summary = await writeBackup(location.url, resolve(io.cwd, file), DMCI_VERSION);
          out.write(json ? JSON.stringify(summary) + '\n' : `backed up ${summary.rows} rows of ${summary.tables} tables to ${file}\n`);
        } finally {
          await location.release();
        }
      })(),
    );

  program
    .command('restore <file>')
    .description('restore a backup into an empty database (a new data directory, or --database NAME on the same PostgreSQL)')
    .option('--database <name>', 'restore into this database of the same PostgreSQL server, created if missing')
    .option('--resync', 'make every connector sync afresh (their state tokens may be newer than the backup)')
    .action((file: string, options: { database?: string; resync?: boolean }) =>
      run(async (config, json) => {
        const location = await resolveDatabase(config, cliLog(), `dmci-cli:${process.pid}`, { create: true });
        try {
          const url = options.database ? await ensureNamedDatabase(location.url, options.database) : location.url;
          const summary = await restoreBackup(url, resolve(io.cwd, file), { resync: Boolean(options.resync) });
          out.write(json ? JSON.stringify(summary) + '\n' : `restored ${summary.rows} rows of ${summary.tables} tables from ${file}\n`);
        } finally {
          await location.release();
        }
      })(),
    );
}

/** The URL of database `name` beside the configured one, created when missing. */
async function ensureNamedDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`--database ${JSON.stringify(name)}: use lower-case letters, digits and _`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {});
  await client.connect();
  try {
    const exists = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return target.toString();
}
