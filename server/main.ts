import { startApp, type RunningApp } from './app.ts';
import { loadConfig } from './config/config.ts';
import { resolveDatabase, type DatabaseLocation } from './db/resolve-database.ts';
import { waitForDatabase } from './db/wait-for-database.ts';
import { createLogger } from './log/logger.ts';
import { loadTlsMaterial } from './net/tls-files.ts';

/** A start-up that failed: everything opened was closed again; the message is the one line to show. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}

/**
 * `dmci start`: runs one node until SIGTERM or SIGINT, then drains: no new
 * connections, in-flight requests finish, clients are told to reconnect
 * elsewhere, the database is released; resolves to 0. A second signal exits
 * at once. A failed start-up (bad TLS files, database unreachable past
 * DMCI_DB_WAIT_MS, a failed migration, a port in use) closes whatever it
 * had opened, the embedded PostgreSQL it started included, and throws
 * StartupError.
 */
export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(env);
  const log = createLogger(config.DMCI_LOG_LEVEL);
  let database: DatabaseLocation | undefined;
  let app: RunningApp;
  // A signal during start-up must not kill the process before it can stop the embedded PostgreSQL
  // it may have started: remember it, finish starting (or failing), then drain at once.
  let signalledEarly: NodeJS.Signals | undefined;
  const onEarlySignal = (signal: NodeJS.Signals) => {
    signalledEarly ??= signal;
    log.info({ signal }, 'signal during start-up: stopping once started');
  };
  process.on('SIGTERM', onEarlySignal);
  process.on('SIGINT', onEarlySignal);
  try {
    loadTlsMaterial(config);
    database = await resolveDatabase(config, log, `dmci:${config.nodeId}`, { create: true });
    await waitForDatabase(database.url, config.DMCI_DB_WAIT_MS, log);
    app = await startApp({ config, log, databaseUrl: database.url });
  } catch (error) {
    await database?.release().catch(() => {});
    throw new StartupError(`start-up failed: ${(error as Error).message}`, { cause: error });
  } finally {
    process.off('SIGTERM', onEarlySignal);
    process.off('SIGINT', onEarlySignal);
  }
  const running = app;

  return new Promise<number>((resolve) => {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn({ signal }, 'second signal: exiting without draining');
        process.exit(130);
      }
      signalled = true;
      log.info({ signal }, 'shutting down');
      running
        .stop()
        .then(() => database!.release())
        .then(() => resolve(0))
        .catch((error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          resolve(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    if (signalledEarly) onSignal(signalledEarly);
  });
}
