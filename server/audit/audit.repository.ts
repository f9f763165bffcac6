import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { AuditRow, NewAuditRow } from './audit.table.ts';

export async function insertAuditRow(db: Db, row: NewAuditRow): Promise<void> {
  await db.insertInto('audit_log').values({ ...row, detail: JSON.stringify(row.detail ?? {}) }).execute();
}

export interface AuditFilter {
  since?: Date | undefined;
  /** Records this login or email acted in or was the target of. */
  user?: string | undefined;
  /** Only records concerning these domains (a domain admin's view). */
  domainIds?: readonly string[] | undefined;
  /** Records older than this id (paging backwards in time). */
  beforeId?: number | undefined;
  limit: number;
}

/** Newest first. */
export async function listAuditRows(db: Db, filter: AuditFilter): Promise<AuditRow[]> {
  let query = db.selectFrom('audit_log').selectAll();
  if (filter.since) query = query.where('at', '>=', filter.since);
  if (filter.user) {
    // Actors and targets are stored in lower case (audit.service.ts), so both indexes serve this.
    const user = filter.user.toLowerCase();
    query = query.where((eb) => eb.or([eb('actor', '=', user), eb('target', '=', user)]));
  }
  if (filter.domainIds) {
    if (filter.domainIds.length === 0) return [];
    query = query.where('domain_id', 'in', filter.domainIds);
  }
  if (filter.beforeId !== undefined) query = query.where('id', '<', filter.beforeId);
  return query.orderBy('id', 'desc').limit(filter.limit).execute();
}

/** Deletes up to `batch` records older than `before`; returns how many went. */
export async function pruneAuditRows(db: Db, before: Date, batch: number): Promise<number> {
  const result = await sql<{ n: number }>`
    with gone as (delete from audit_log where id in (select id from audit_log where at < ${before} order by id limit ${batch}) returning 1)
    select count(*)::int as n from gone`.execute(db);
  return result.rows[0]?.n ?? 0;
}
