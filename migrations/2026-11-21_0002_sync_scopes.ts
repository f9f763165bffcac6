import type { Kysely } from 'kysely';

/**
 * One row per sync scope (a calendar, a domain's GAL, ...). Every write
 * transaction bumps its scope's modseq first and holds that row lock until
 * commit, so commit order equals modseq order within a scope (DESIGN §4).
 * Tombstones older than the retention period are pruned, which raises
 * min_modseq; a client older than min_modseq must resync.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('sync_scopes')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('modseq', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('min_modseq', 'bigint', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('sync_scopes').execute();
}
