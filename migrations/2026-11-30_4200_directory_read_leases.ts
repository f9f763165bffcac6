import type { Kysely } from 'kysely';

/**
 * Issue 13, session 8: directory read leases (server/cluster/directory-read-lease.ts,
 * docs/decisions.md "LDAP searches without a round trip: read leases and a
 * commit wait").
 *
 * One row per node that answers LDAP searches from directory and account
 * reads it made up to DMCI_DIRECTORY_READ_WINDOW_MS earlier. While a row's
 * `expires_at` (PostgreSQL's clock) lies ahead, every directory or account
 * write waits that window after its commit before it is acknowledged, so a
 * search started after the acknowledgement, on any node, uses a read made
 * after the commit. No row (or only expired ones): writes do not wait.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('directory_read_leases')
    .addColumn('node_id', 'text', (c) => c.primaryKey())
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
}
