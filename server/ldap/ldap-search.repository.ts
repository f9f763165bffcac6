import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import { galScope } from '../sync/scope-id.ts';
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

/** A domain's GAL scope version: every GAL write raises `modseq`; tombstones below `minModseq` may be pruned. */
export interface GalVersion {
  modseq: number;
  minModseq: number;
}

/** The version the door's index checks itself against before each search (ldap-index.ts); undefined when the domain has no GAL scope. */
export async function readGalVersion(db: Db, domainId: string): Promise<GalVersion | undefined> {
  const { rows } = await sql<{ modseq: number; min_modseq: number }>`
    select ${sql.raw(PREPARED)} modseq, min_modseq from sync_scopes where id = ${galScope(domainId)}`.execute(db);
  const row = rows[0];
  return row ? { modseq: row.modseq, minModseq: row.min_modseq } : undefined;
}

/**
 * Entries whose LDAP form may have changed since `since`: stamped later
 * (every write of an entry, its visibility, its aliases), or managed by
 * such an entry (the manager's DN is shown, and an address change does not
 * stamp the people it manages).
 */
export async function readChangedEntryIds(db: Db, domainId: string, since: number, limit: number): Promise<string[]> {
  const { rows } = await sql<{ id: string }>`
    select e.id from directory_entries e
    where e.domain_id = ${domainId}
      and (e.modseq > ${since} or e.manager_id in (select c.id from directory_entries c where c.domain_id = ${domainId} and c.modseq > ${since}))
    limit ${limit}`.execute(db);
  return rows.map((r) => r.id);
}

/** Visible entries as the index holds them (searchGal's rows with aliases, without photo and members): a page after `after`, or the given ids. */
export async function readIndexRows(db: Db, domainId: string, query: { after?: string | undefined; ids?: readonly string[]; limit: number }): Promise<GalResultRow[]> {
  return searchGal(db, {
    domainId,
    where: query.ids ? sql<boolean>`e.id = any(${[...query.ids]}::uuid[])` : sql<boolean>`true`,
    ...(query.after !== undefined ? { after: { id: query.after } } : {}),
    limit: query.limit,
    needs: { aliases: true, members: false, photo: false },
  });
}
