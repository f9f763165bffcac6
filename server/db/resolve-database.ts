import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { openEmbeddedPostgres } from './embedded-postgres.ts';

export interface DatabaseLocation {
  url: string;
  /** Lets go of the database: stops the embedded cluster when we were its last user. */
  release(): Promise<void>;
  embedded: boolean;
}

/** DATABASE_URL when set, else the embedded PostgreSQL under the data directory. */
export async function resolveDatabase(config: Config, log: Logger, applicationName: string): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, release: async () => {}, embedded: false };
  }
  const embedded = await openEmbeddedPostgres({
    dataDir: config.dataDir,
    port: config.DMCI_EMBEDDED_PG_PORT,
    log,
    applicationName,
  });
  return { url: embedded.url, release: () => embedded.release(), embedded: true };
}
