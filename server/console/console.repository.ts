import { sql } from 'kysely';
import type { Db } from '../db/database.ts';

/** Console sessions (console_sessions) and node reports (cluster_nodes). */

export async function insertConsoleSession(db: Db, row: { idHash: Buffer; accountId: string; address: string }): Promise<void> {
  await db.insertInto('console_sessions').values({ id_hash: row.idHash, account_id: row.accountId, address: row.address, flash: null }).execute();
}

/** A session with its idle time and age as PostgreSQL's clock has them (nodes' clocks may differ). */
export async function findConsoleSession(db: Db, idHash: Buffer) {
  return db
    .selectFrom('console_sessions')
    .select([
      'id_hash',
      'account_id',
      sql<number>`(extract(epoch from now() - last_seen_at) * 1000)::float8`.as('idle_ms'),
      sql<number>`(extract(epoch from now() - created_at) * 1000)::float8`.as('age_ms'),
    ])
    .where('id_hash', '=', idHash)
    .executeTakeFirst();
}

/** Marks the session used now, and takes its flash message (shown once). */
export async function touchConsoleSession(db: Db, idHash: Buffer): Promise<string | null> {
  const result = await sql<{ flash: string | null }>`
    update console_sessions s set last_seen_at = now(), flash = null
    from (select id_hash, flash from console_sessions where id_hash = ${idHash} for update) old
    where s.id_hash = old.id_hash
    returning old.flash`.execute(db);
  return result.rows[0]?.flash ?? null;
}

export async function setConsoleFlash(db: Db, idHash: Buffer, flash: string): Promise<void> {
  await db.updateTable('console_sessions').set({ flash }).where('id_hash', '=', idHash).execute();
}

export async function deleteConsoleSession(db: Db, idHash: Buffer): Promise<void> {
  await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).execute();
}

/** Keeps an account's newest `keep` sessions (a bound on rows per account). */
export async function trimConsoleSessions(db: Db, accountId: string, keep: number): Promise<void> {
  await db
    .deleteFrom('console_sessions')
    .where('account_id', '=', accountId)
    .where('id_hash', 'not in', (q) => q.selectFrom('console_sessions').select('id_hash').where('account_id', '=', accountId).orderBy('created_at', 'desc').limit(keep))
    .execute();
}

/** Removes sessions past their idle timeout or absolute lifetime. */
export async function pruneConsoleSessions(db: Db, idleMs: number, maxMs: number): Promise<number> {
  const result = await db
    .deleteFrom('console_sessions')
    .where((eb) => eb.or([eb('last_seen_at', '<', sql<Date>`now() - make_interval(secs => ${idleMs / 1000})`), eb('created_at', '<', sql<Date>`now() - make_interval(secs => ${maxMs / 1000})`)]))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function upsertNodeReport(db: Db, nodeId: string, report: unknown): Promise<void> {
  const json = JSON.stringify(report);
  await db
    .insertInto('cluster_nodes')
    .values({ node_id: nodeId, seen_at: sql<Date>`now()`, report: json })
    .onConflict((oc) => oc.column('node_id').doUpdateSet({ seen_at: sql<Date>`now()`, report: json }))
    .execute();
}

/** Every node's report with its age; reports older than `forgetMs` are deleted first (a node gone for good). */
export async function readNodeReports(db: Db, forgetMs: number) {
  await db.deleteFrom('cluster_nodes').where('seen_at', '<', sql<Date>`now() - make_interval(secs => ${forgetMs / 1000})`).execute();
  return db
    .selectFrom('cluster_nodes')
    .select(['node_id', 'report', sql<number>`(extract(epoch from now() - seen_at) * 1000)::float8`.as('age_ms')])
    .orderBy('node_id')
    .execute();
}

export async function deleteNodeReport(db: Db, nodeId: string): Promise<void> {
  await db.deleteFrom('cluster_nodes').where('node_id', '=', nodeId).execute();
}
