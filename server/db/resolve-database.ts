import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { NoClusterError, openEmbeddedPostgres } from './embedded-postgres.ts';

export interface DatabaseLocation {
  url: string;
  /** Lets go of the database: stops the embedded cluster when we were its last user. */
  release(): Promise<void>;
  embedded: boolean;
}

/**
 * DATABASE_URL when set, else the embedded PostgreSQL under the data
 * directory. `create: false` (every CLI command but start, migrate and
 * restore) refuses to create a cluster that is not there, naming where the
 * configuration pointed and where it came from.
 */
export async function resolveDatabase(config: Config, log: Logger, applicationName: string, options: { create?: boolean } = {}): Promise<DatabaseLocation> {
  if (config.DATABASE_URL) {
    return { url: config.DATABASE_URL, release: async () => {}, embedded: false };
  }
  try {
    const embedded = await openEmbeddedPostgres({
      dataDir: config.dataDir,
      log,
      applicationName,
      create: options.create ?? true,
      ...(config.DMCI_PG_SHARED_BUFFERS_MB !== undefined ? { sharedBuffersMb: config.DMCI_PG_SHARED_BUFFERS_MB } : {}),
    });
    return { url: embedded.url, release: () => embedded.release(), embedded: true };
  } catch (error) {
    if (error instanceof NoClusterError) throw new NoClusterError(`${error.message}; ${describeConfigSource(config)}`);
    throw error;
  }
}

/** Where DMCI_DATA_DIR and DATABASE_URL came from, for error messages that must say where dmci looked. */
export function describeConfigSource(config: Config): string {
  const file = config.configFile ? `config file ${config.configFile}` : `no config file (looked for ${config.configSearched.join(', ')})`;
  return `DMCI_DATA_DIR=${config.DMCI_DATA_DIR} resolved to ${config.dataDir}, DATABASE_URL unset, ${file}; set DMCI_CONFIG, DMCI_DATA_DIR or DATABASE_URL to reach the server's database`;
}
