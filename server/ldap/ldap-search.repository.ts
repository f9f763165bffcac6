import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import type { GalRow } from './ldap-entry.ts';

/**
 * The LDAP door's reads of the GAL tables (owned by server/directory/).
 * Only `visible` rows are ever read (not hidden, not a disabled account, not
 * a tombstone), and a visible entry's manager and members are only shown
 * when they are visible too. Every query is bounded by a LIMIT and runs on
 * the LDAP door's own pool, whose connections carry statement_timeout =
 * DMCI_LDAP_MAX_TIME_MS (a client's shorter limit is set per transaction).
 */

/** Arms a time limit for the rest of the transaction (the pool's own statement_timeout is DMCI_LDAP_MAX_TIME_MS). */
export async function setStatementTimeout(trx: Db, timeoutMs: number): Promise<void> {
  await sql`select set_config('statement_timeout', ${String(Math.max(1, Math.ceil(timeoutMs)))}, true)`.execute(trx);
}

export async function findDomainId(db: Db, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('domains').select('id').where('name', '=', name).executeTakeFirst();
  return row?.id;
}

export interface GalQuery {
  domainId: string;
  where: RawBuilder<boolean>;
  /** A base-scope search of one entry. */
  only?: { by: 'mail' | 'uid'; value: string };
  /** Keyset cursor: rows with a greater id. */
  after?: { id: string };
  limit: number;
  needs: { aliases: boolean; members: boolean; photo: boolean };
  /** Run as a prepared statement (filterStatement's `genericPlan`: one plan fits every value). */
  prepared?: boolean;
}

export type GalResultRow = GalRow;

/**
 * Visible entries matching `where`, in id order: a stable paging key, and
 * the order in which the match-value indexes yield ids, so PostgreSQL reads
 * a filter's matches as id-ordered streams and stops at the limit (slapd
 * likewise answers in its entry-id order). Sorting by name would need every
 * match first: 30× slapd for a two-letter prefix over 100,000 entries.
 */
export async function searchGal(db: Db, query: GalQuery): Promise<GalResultRow[]> {
  const { rows } = await galQuery(query).execute(db);
  return rows;
}

/** The statement searchGal runs (exported so tests can EXPLAIN it). */
export function galQuery(query: GalQuery): RawBuilder<GalResultRow> {
  const { needs } = query;
  const only = query.only
    ? query.only.by === 'mail'
      ? sql`and e.email = ${query.only.value}`
      : sql`and e.id = ${query.only.value}::uuid`
    : sql``;
  const after = query.after ? sql`and e.id > ${query.after.id}::uuid` : sql``;
  return sql<GalResultRow>`
    select ${sql.raw(query.prepared ? `${PREPARED} ` : '')}e.id, e.kind, e.email, e.display_name, e.common_names, e.given_name, e.surname, e.title, e.department, e.company, e.office,
      e.business_phone, e.mobile_phone, e.resource_type, e.capacity, e.location, e.created_at, e.updated_at, e.photo_type,
      ${needs.photo ? sql`e.photo` : sql`null::bytea`} as photo,
      m.email as manager_email, m.id as manager_id,
      ${needs.aliases ? sql`array(select a.alias from directory_aliases a where a.entry_id = e.id order by a.alias)` : sql`null`} as aliases,
      ${
        needs.members
          ? sql`case when e.kind = 'group' then (
              select coalesce(json_agg(json_build_array(x.email, x.id) order by x.email, x.id), '[]'::json)
              from directory_members dm join directory_entries x on x.id = dm.member_id and x.visible and x.domain_id = e.domain_id
              where dm.group_id = e.id) end`
          : sql`null`
      } as members
    from directory_entries e
    left join directory_entries m on m.id = e.manager_id and m.visible and m.domain_id = e.domain_id
    where e.domain_id = ${query.domainId} and e.visible and ${query.where} ${only} ${after}
    order by e.id
    limit ${query.limit}`;
}

/** Whether a visible entry with this RDN exists (to tell noSuchObject from an empty result). */
export async function galEntryExists(db: Db, domainId: string, by: 'mail' | 'uid', value: string): Promise<boolean> {
  const match = by === 'mail' ? sql`email = ${value}` : sql`id = ${value}::uuid`;
  const { rows } = await sql`select 1 from directory_entries where domain_id = ${domainId} and visible and ${match} limit 1`.execute(db);
  return rows.length > 0;
}

/** Names of all domains, for a global admin's root DSE. Bounded: the root DSE is not a listing API. */
export async function listDomainNames(db: Db, limit: number): Promise<string[]> {
  const rows = await db.selectFrom('domains').select('name').orderBy('name').limit(limit).execute();
  return rows.map((r) => r.name);
}
