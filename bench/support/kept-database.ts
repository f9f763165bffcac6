import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { openEmbeddedPostgres } from '../../server/db/embedded-postgres.ts';
import { createLogger } from '../../server/log/logger.ts';

/**
 * A benchmark database that outlives the run: the embedded PostgreSQL cluster
 * in `dataDir` (created on first use), its `dmci` database. A benchmark that
 * takes minutes to seed seeds it once and reuses it (profiling, EXPLAIN on the
 * seeded data). The cluster is left running at the end so the next run and
 * psql find it; stop it with `pg_ctl stop -D DIR/postgres` (as its owner).
 */
export async function keptBenchDatabase(dataDir: string): Promise<{ url: string; release(): Promise<void> }> {
  const dir = resolve(dataDir);
  await mkdir(dir, { recursive: true });
  const embedded = await openEmbeddedPostgres({ dataDir: dir, log: createLogger('warn'), applicationName: 'dmci-bench-kept', create: true });
  return { url: embedded.url, release: async () => {} };
}
