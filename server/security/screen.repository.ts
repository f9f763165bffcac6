import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { ScreenBlockRow, ScreenList, ScreenRuleRow } from './screen.table.ts';

/** Blocks in force now (not lifted, not ended). */
export async function activeBlocks(db: Db): Promise<ScreenBlockRow[]> {
  return db.selectFrom('screen_blocks').selectAll().where('lifted_at', 'is', null).where('blocked_until', '>', sql<Date>`now()`).orderBy('blocked_at', 'desc').execute();
}

export async function findBlock(db: Db, key: string): Promise<ScreenBlockRow | undefined> {
  return db.selectFrom('screen_blocks').selectAll().where('key', '=', key).executeTakeFirst();
}

/**
 * Starts (or extends) a block. A key blocked again counts one more block; a
 * block already in force ends at the later of the two ends.
 */
export async function upsertBlock(
  db: Db,
  block: { key: string; reason: string; source: 'guard' | 'admin'; blockedUntil: Date; createdBy: string },
): Promise<ScreenBlockRow> {
  return db
    .insertInto('screen_blocks')
    .values({ key: block.key, reason: block.reason, source: block.source, blocked_at: sql<Date>`now()`, blocked_until: block.blockedUntil, created_by: block.createdBy, lifted_at: null, lifted_by: null })
    .onConflict((oc) =>
      oc.column('key').doUpdateSet({
        reason: block.reason,
        source: block.source,
        created_by: block.createdBy,
        block_count: sql<number>`screen_blocks.block_count + 1`,
        blocked_at: sql<Date>`now()`,
        blocked_until: sql<Date>`case when screen_blocks.lifted_at is null and screen_blocks.blocked_until > excluded.blocked_until then screen_blocks.blocked_until else excluded.blocked_until end`,
        lifted_at: null,
        lifted_by: null,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Lifts the blocks in force among `keys`; returns them as they were. */
export async function liftBlocks(db: Db, keys: readonly string[], liftedBy: string): Promise<ScreenBlockRow[]> {
  if (keys.length === 0) return [];
  const lifted = await db
    .updateTable('screen_blocks')
    .set({ lifted_at: sql<Date>`now()`, lifted_by: liftedBy })
    .where('key', 'in', keys)
    .where('lifted_at', 'is', null)
    .where('blocked_until', '>', sql<Date>`now()`)
    .returningAll()
    .execute();
  return lifted.map((row) => ({ ...row, lifted_at: null, lifted_by: null }));
}

/** Forgets blocks that ended or were lifted before `before`. */
export async function pruneBlocks(db: Db, before: Date): Promise<number> {
  const result = await db
    .deleteFrom('screen_blocks')
    .where((eb) => eb.or([eb('lifted_at', '<', before), eb.and([eb('lifted_at', 'is', null), eb('blocked_until', '<', before)])]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function listRules(db: Db): Promise<ScreenRuleRow[]> {
  return db.selectFrom('screen_rules').selectAll().orderBy('list').orderBy('value').execute();
}

/** Adds a rule; false when it was there already. */
export async function insertRule(db: Db, rule: { list: ScreenList; value: string; note: string; createdBy: string }): Promise<boolean> {
  const inserted = await db
    .insertInto('screen_rules')
    .values({ list: rule.list, value: rule.value, note: rule.note, created_by: rule.createdBy })
    .onConflict((oc) => oc.columns(['list', 'value']).doNothing())
    .returning('value')
    .executeTakeFirst();
  return inserted !== undefined;
}

export async function deleteRule(db: Db, list: ScreenList, value: string): Promise<ScreenRuleRow | undefined> {
  return db.deleteFrom('screen_rules').where('list', '=', list).where('value', '=', value).returningAll().executeTakeFirst();
}
