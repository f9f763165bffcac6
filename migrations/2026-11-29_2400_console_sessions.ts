import { sql, type Kysely } from 'kysely';

/**
 * The admin console (issue 12 item 1).
 * - console_sessions: one row per logged-in browser. Only the SHA-256 of the
 *   session id is stored (a copy of the table logs no one in). In PostgreSQL
 *   rather than in memory so every node behind a load balancer knows every
 *   session (docs/decisions.md).
 * - cluster_nodes: what each node reports every few seconds for the
 *   console's dashboard and sessions page (counts, its live sessions, the
 *   last hour of samples), since sessions live in each node's memory.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('console_sessions')
    .addColumn('id_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('address', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('last_seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('flash', 'text')
    .execute();
  await db.schema.createIndex('console_sessions_account').on('console_sessions').column('account_id').execute();
  await db.schema
    .createTable('cluster_nodes')
    .addColumn('node_id', 'text', (c) => c.primaryKey())
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull())
    .addColumn('report', 'jsonb', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('cluster_nodes').execute();
  await db.schema.dropTable('console_sessions').execute();
}
