import { startApp } from './app.ts';
import { loadConfig } from './config/config.ts';
import { resolveDatabase } from './db/resolve-database.ts';
import { createLogger } from './log/logger.ts';

/**
 * `dmci start`: runs one node until SIGTERM or SIGINT, then drains: no new
 * connections, in-flight requests finish, clients are told to reconnect
 * elsewhere, the database is released. A second signal exits at once.
 */
export async function runServer(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(env);
  const log = createLogger(config.DMCI_LOG_LEVEL);
  const database = await resolveDatabase(config, log, `dmci:${config.nodeId}`);
  let app;
  try {
    app = await startApp({ config, log, databaseUrl: database.url });
  } catch (error) {
    await database.release();
    throw error;
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
        .then(() => database.release())
        .then(() => resolve(0))
        .catch((error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          resolve(1);
        });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
