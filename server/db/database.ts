import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { NulGuardPlugin } from './nul-guard.ts';
import { preparingClient, type PreparedStatementsOptions } from './prepared-statements.ts';
import type { Database } from './schema.ts';

export type Db = Kysely<Database>;

// int8 (bigint) columns — modseqs, counters — arrive as JS numbers: they stay far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface DatabaseOptions {
  url: string;
  poolSize: number;
  applicationName: string;
  /** How long a query waits for a free pooled connection before failing (UNAVAILABLE to clients). */
  connectionTimeoutMs?: number;
  /**
   * Run statements marked PREPARED (db/prepared-statements.ts) as named prepared statements, at most
   * `maxPerConnection` per connection; a connection is retired after `maxUses` checkouts, which drops them.
   */
  prepared?: PreparedStatementsOptions & { maxUses: number };
}

export function createDatabase(options: DatabaseOptions): { db: Db; pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize,
    application_name: options.applicationName,
    // A node must notice a dead database quickly rather than queue forever; and a request that finds
    // the pool saturated must get UNAVAILABLE (retryable) before the client's own timeout (10 s in the
    // client library) gives up on it without an answer.
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    ...(options.prepared ? { Client: preparingClient(options.prepared), maxUses: options.prepared.maxUses } : {}),
  });
  // An idle client that loses its connection emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new NulGuardPlugin()] });
  return { db, pool };
}
