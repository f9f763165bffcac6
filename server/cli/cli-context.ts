import type pg from 'pg';
import { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Config } from '../config/config.ts';
import { createDatabase, type Db } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { resolveDatabase } from '../db/resolve-database.ts';
import type { Logger } from '../log/logger.ts';
import type { CliIo } from './cli-io.ts';
import type { CliOutput } from './output.ts';
import { createServices, type Services } from '../services.ts';

/**
 * What a file of subcommands gets from main.ts: the runner (config loaded,
 * --json read), the CLI's logger, where results go, the command's input and
 * environment, and a way to end with a status other than 0 without an error.
 */
export interface CommandContext {
  run: (task: (config: Config, json: boolean) => Promise<void>) => () => Promise<void>;
  cliLog: () => Logger;
  out: CliOutput;
  io: CliIo;
  setExitCode: (code: number) => void;
}

export interface CliServices extends Services {
  db: Db;
  /** Publish-only: hints of what the command committed (for writes outside a service, e.g. `dmci itip-ingest`). */
  bus: ClusterBus;
}

/**
 * Opens the same database the server uses (the embedded one included, while
 * the server runs or not), applies pending migrations, builds the same
 * services the server builds, runs `task`, and lets go of everything. Writes
 * made here reach running nodes through the same NOTIFY hints a node sends
 * (flushed before exit), so connected sessions see them at once.
 */
export async function withServices<T>(
  config: Config,
  log: Logger,
  task: (services: CliServices) => Promise<T>,
  options: { migrate?: boolean; create?: boolean } = {},
): Promise<T> {
  const applicationName = `dmci-cli:${process.pid}`;
  // Only `migrate` (and `start`, `restore`) may create the embedded cluster: any other command run
  // from the wrong directory must say where it looked, not work on a new, empty database.
  const location = await resolveDatabase(config, log, applicationName, { create: options.create ?? false });
  const { db, pool } = createDatabase({ url: location.url, poolSize: 2, applicationName });
  // Publish-only: the CLI never LISTENs, it only tells the nodes what it committed.
  const bus = new ClusterBus({ url: location.url, pool: pool as pg.Pool, batchMs: 0, log, applicationName });
  try {
    if (options.migrate ?? true) await migrateToLatest(db);
    return await task({ db, bus, ...createServices({ db, bus, config, hashConcurrency: 2, log }) });
  } finally {
    await bus.stop();
    await db.destroy();
    await location.release();
  }
}
