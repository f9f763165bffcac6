import { sql, type Kysely } from 'kysely';

/**
 * Screening state shared by every node (issue 12): blocks (started by a
 * node's login guard or by an admin) and the trusted-host and IP/host
 * allow/deny lists added at run time (the configured lists stay in the
 * configuration). An unblock keeps the row with `lifted_at` set, so a node
 * that saw the block learns it was lifted; the prune job removes old rows.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('screen_blocks')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('reason', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull().check(sql`source in ('guard', 'admin')`))
    .addColumn('block_count', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('blocked_at', 'timestamptz', (c) => c.notNull())
    .addColumn('blocked_until', 'timestamptz', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('lifted_at', 'timestamptz')
    .addColumn('lifted_by', 'text')
    .execute();
  await db.schema
    .createTable('screen_rules')
    .addColumn('list', 'text', (c) => c.notNull().check(sql`list in ('trusted', 'ip_allow', 'ip_deny', 'host_allow', 'host_deny')`))
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('note', 'text', (c) => c.notNull().defaultTo(''))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('screen_rules_pkey', ['list', 'value'])
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('screen_rules').execute();
  await db.schema.dropTable('screen_blocks').execute();
}
