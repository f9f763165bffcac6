import { sql, type SelectQueryBuilder, type SqlBool } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Db } from '../db/database.ts';
import { nulError } from '../db/nul-guard.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import { ShapedStatement } from '../db/shaped-statement.ts';
import type { DirectoryEntryTable, DirectoryEntryUpdate, DirectoryKind, NewDirectoryEntryRow } from './directory.table.ts';
import { queryWords } from './search/name-fold.ts';
import { anrWordCondition, refreshSearchTerms, TERM_COLUMNS, TERM_ENTRY_COLUMNS, TERMS_VERSION, writeSearchTerms } from './search/search-terms.ts';
import { escapeLike, likeRange } from './search/string-prep.ts';

/**
 * Plain queries on the GAL tables. Writers call these inside a transaction
 * that has already bumped the domain's GAL scope (DirectoryService does);
 * `modseq` arguments are that bump's value.
 */

/** The columns a reader's view of an entry is made of (ShownRow in directory.mapper.ts), for reads that show entries and nothing else. */
const shownColumns = [
  'e.id',
  'e.kind',
  'e.display_name',
  'e.email',
  'e.given_name',
  'e.surname',
  'e.title',
  'e.department',
  'e.company',
  'e.office',
  'e.business_phone',
  'e.mobile_phone',
  'e.account_id',
  'e.photo_type',
  'e.photo_etag',
  'e.resource_type',
  'e.capacity',
  'e.location',
  'e.modseq',
] as const;

/** Every column but the photo bytes (which only Directory/getPhotos and exports read). */
const entryColumns = [
  ...shownColumns,
  'e.domain_id',
  'e.source_key',
  'e.common_names',
  'e.manager_id',
  'e.hidden',
  'e.account_disabled',
  'e.created_modseq',
  'e.deleted',
  'e.visible',
  'e.visibility_modseq',
  'e.updated_at',
] as const;

function entries(db: Db) {
  return withReaderColumns(db.selectFrom('directory_entries as e').select(entryColumns));
}

/** The photo's size, the manager as readers see it and the time of the last change as the protocol spells it, beside a select of directory_entries as e. */
function withReaderColumns<O>(query: SelectQueryBuilder<Database & { e: DirectoryEntryTable }, 'e', O>) {
  return (
    query
      // Date.toISOString's form (UTC, milliseconds): formatted here, not parsed into a Date and formatted again per entry.
      .select(sql<string>`to_char(e.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`.as('updated_at_iso'))
      // octet_length reads the TOAST header only, not the photo.
      .select(sql<number | null>`octet_length(e.photo)`.as('photo_size'))
      // The manager as readers see it: null unless the manager is visible.
      .select((eb) =>
        eb
          .selectFrom('directory_entries as m')
          .select('m.id')
          .whereRef('m.id', '=', 'e.manager_id')
          .where('m.visible', '=', true)
          .as('visible_manager_id'),
      )
  );
}
export type EntryRow = Awaited<ReturnType<typeof findEntryById>> & {};

export async function findEntryById(db: Db, id: string) {
  return entries(db).where('e.id', '=', id).executeTakeFirst();
}

export async function findEntriesByIds(db: Db, domainId: string, ids: readonly string[], options: { visibleOnly: boolean }) {
  if (ids.length === 0) return [];
  let query = entries(db).where('e.domain_id', '=', domainId).where('e.id', '=', sql<string>`any(${sql.val([...ids])}::uuid[])`);
  query = options.visibleOnly ? query.where('e.visible', '=', true) : query.where('e.deleted', '=', false);
  return query.execute();
}

export async function findEntryByAccount(db: Db, accountId: string) {
  return entries(db).where('e.account_id', '=', accountId).executeTakeFirst();
}

/** A live entry of the domain whose email or alias is `address` (lower-case). */
export async function findEntryByAddress(db: Db, domainId: string, address: string, options: { visibleOnly: boolean }) {
  let query = entries(db)
    .where('e.domain_id', '=', domainId)
    .where('e.deleted', '=', false)
    .where((eb) =>
      eb.or([
        eb('e.email', '=', address),
        eb.exists(eb.selectFrom('directory_aliases as a').select('a.entry_id').whereRef('a.entry_id', '=', 'e.id').where('a.domain_id', '=', domainId).where('a.alias', '=', address)),
      ]),
    );
  if (options.visibleOnly) query = query.where('e.visible', '=', true);
  return query.executeTakeFirst();
}

export async function findEntryBySourceKey(db: Db, domainId: string, sourceKey: string) {
  return entries(db).where('e.domain_id', '=', domainId).where('e.source_key', '=', sourceKey).where('e.deleted', '=', false).executeTakeFirst();
}

/**
 * Live entries of the domain matching any of the addresses (emails or
 * aliases); for bulk import. Two index lookups rather than one OR, which the
 * planner answers with a scan of the whole domain.
 */
export async function findEntriesByAddresses(db: Db, domainId: string, addresses: readonly string[]) {
  if (addresses.length === 0) return [];
  const byEmail = await entries(db).where('e.domain_id', '=', domainId).where('e.deleted', '=', false).where('e.email', '=', anyOf(addresses)).execute();
  const aliased = await db.selectFrom('directory_aliases').select('entry_id').where('domain_id', '=', domainId).where('alias', '=', anyOf(addresses)).execute();
  const seen = new Set(byEmail.map((r) => r.id));
  const more = aliased.map((a) => a.entry_id).filter((id) => !seen.has(id));
  return more.length === 0 ? byEmail : [...byEmail, ...(await findEntriesByIds(db, domainId, more, { visibleOnly: false }))];
}

/**
 * `= any($1)` with one array parameter: a list of thousands of values stays
 * one parameter (an IN list of 5000 would be 5000 parameters to send, parse
 * and plan).
 */
function anyOf(values: readonly string[]) {
  return sql<string>`any(${sql.val([...values])})`;
}

export async function findEntriesBySourceKeys(db: Db, domainId: string, keys: readonly string[]) {
  if (keys.length === 0) return [];
  return entries(db).where('e.domain_id', '=', domainId).where('e.source_key', '=', anyOf(keys)).where('e.deleted', '=', false).execute();
}

/** Who holds each address (as email or alias) among live entries of the domain. */
export async function addressOwners(db: Db, domainId: string, addresses: readonly string[]): Promise<Map<string, string>> {
  const owners = new Map<string, string>();
  if (addresses.length === 0) return owners;
  const list = [...addresses];
  const byEmail = await db.selectFrom('directory_entries').select(['id', 'email']).where('domain_id', '=', domainId).where('deleted', '=', false).where('email', '=', anyOf(list)).execute();
  for (const row of byEmail) owners.set(row.email!, row.id);
  const byAlias = await db.selectFrom('directory_aliases').select(['entry_id', 'alias']).where('domain_id', '=', domainId).where('alias', '=', anyOf(list)).execute();
  for (const row of byAlias) owners.set(row.alias, row.entry_id);
  return owners;
}

export async function aliasesOf(db: Db, entryIds: readonly string[]): Promise<Map<string, string[]>> {
  if (entryIds.length === 0) return new Map();
  return groupAliases(await db.selectFrom('directory_aliases').select(['entry_id', 'alias']).where('entry_id', '=', sql<string>`any(${sql.val([...entryIds])}::uuid[])`).orderBy('alias').execute());
}

function groupAliases(rows: readonly { entry_id: string; alias: string }[]): Map<string, string[]> {
  const result = new Map<string, string[]>();
  for (const row of rows) {
    const list = result.get(row.entry_id);
    if (list) list.push(row.alias);
    else result.set(row.entry_id, [row.alias]);
  }
  return result;
}

/**
 * Aliases of the live entries of a GAL full-sync page: those visible with
 * modseq <= upTo and (modseq, id) in (after, last]. Naming the page by its
 * two ends costs two keys where a list costs thousands (sending, guarding
 * and parsing a 5,000-id array was as slow as encoding the page).
 */
export async function aliasesOfLivePage(db: Db, domainId: string, upTo: number, after: LivePosition | null, last: LivePosition): Promise<Map<string, string[]>> {
  let query = db
    .selectFrom('directory_entries as e')
    .innerJoin('directory_aliases as a', 'a.entry_id', 'e.id')
    .select(['a.entry_id', 'a.alias'])
    .where('e.domain_id', '=', domainId)
    .where('e.visible', '=', true)
    .where('e.modseq', '<=', upTo)
    .where((eb) => eb(eb.refTuple('e.modseq', 'e.id'), '<=', eb.tuple(last.modseq, last.id)));
  if (after) query = query.where((eb) => eb(eb.refTuple('e.modseq', 'e.id'), '>', eb.tuple(after.modseq, after.id)));
  return groupAliases(await query.orderBy('a.alias').execute());
}

/** A row's place in a GAL full sync's (modseq, id) order. */
export interface LivePosition {
  modseq: number;
  id: string;
}

/** Direct members of the groups; with visibleOnly, only members readers may see. */
export async function membersOf(db: Db, groupIds: readonly string[], options: { visibleOnly: boolean }): Promise<Map<string, string[]>> {
  const result = new Map<string, string[]>(groupIds.map((id) => [id, []]));
  if (groupIds.length === 0) return result;
  let query = db
    .selectFrom('directory_members as dm')
    .innerJoin('directory_entries as m', 'm.id', 'dm.member_id')
    .select(['dm.group_id', 'dm.member_id'])
    .where('dm.group_id', '=', sql<string>`any(${sql.val([...groupIds])}::uuid[])`)
    .orderBy('dm.group_id')
    .orderBy(sql`lower(m.display_name)`)
    .orderBy('m.id');
  if (options.visibleOnly) query = query.where('m.visible', '=', true);
  for (const row of await query.execute()) result.get(row.group_id)!.push(row.member_id);
  return result;
}

/** Number of members (hidden ones included: an upper bound) of each group. */
export async function memberCounts(db: Db, groupIds: readonly string[]): Promise<Map<string, number>> {
  if (groupIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('directory_members')
    .select(['group_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('group_id', '=', sql<string>`any(${sql.val([...groupIds])}::uuid[])`)
    .groupBy('group_id')
    .execute();
  return new Map(rows.map((r) => [r.group_id, Number(r.n)]));
}

/*
 * Every write below that changes what an entry is searched by (its searchable
 * columns, its visibility, its aliases, its existence) recomputes the entry's
 * search terms in the same transaction (search/search-terms.ts): at once, or,
 * given a `StaleTerms` set, by the caller once for all the entries it changed
 * (bulk import: one refresh per batch rather than five statements per entry).
 */

/** Ids whose search terms a caller refreshes itself (refreshSearchTerms) before its transaction commits. */
export type StaleTerms = Set<string>;

async function termsChanged(db: Db, ids: readonly string[], stale: StaleTerms | undefined): Promise<void> {
  if (stale) for (const id of ids) stale.add(id);
  else await refreshSearchTerms(db, ids);
}

export async function insertEntry(db: Db, row: NewDirectoryEntryRow): Promise<string> {
  const inserted = await db.insertInto('directory_entries').values(row).returning('id').executeTakeFirstOrThrow();
  await refreshSearchTerms(db, [inserted.id]);
  return inserted.id;
}

/**
 * Inserts new entries with their aliases and search terms (bulk import):
 * four statements whatever the number, the terms computed from the inserted
 * rows as RETURNING gives them. Returns the ids in order.
 */
export async function insertEntries(db: Db, entries: ReadonlyArray<{ row: NewDirectoryEntryRow; aliases: readonly string[] }>): Promise<string[]> {
  if (entries.length === 0) return [];
  const inserted = await db
    .insertInto('directory_entries')
    .values(entries.map((e) => ({ ...e.row, terms_version: TERMS_VERSION })))
    .returning(TERM_ENTRY_COLUMNS)
    .execute();
  const withAliases = inserted.map((row, n) => ({ ...row, aliases: [...entries[n]!.aliases].sort() }));
  const aliasRows = withAliases.flatMap((row) => row.aliases.map((alias) => ({ domain_id: row.domain_id, alias, entry_id: row.id })));
  if (aliasRows.length > 0) await db.insertInto('directory_aliases').values(aliasRows).execute();
  await writeSearchTerms(db, withAliases);
  return inserted.map((row) => row.id);
}

/** Columns whose change alters an entry's search terms: the searched ones, and those visibility follows. */
const TERM_AFFECTING = new Set<string>([...TERM_COLUMNS, 'hidden', 'account_disabled']);

export async function updateEntry(db: Db, id: string, changes: DirectoryEntryUpdate, modseq: number, stale?: StaleTerms): Promise<void> {
  await db
    .updateTable('directory_entries')
    .set({ ...changes, modseq, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
  if (Object.keys(changes).some((column) => TERM_AFFECTING.has(column))) await termsChanged(db, [id], stale);
}

/** Stamps entries whose shown form changed because of another entry (a member or a manager). */
export async function stampEntries(db: Db, ids: readonly string[], modseq: number): Promise<void> {
  if (ids.length === 0) return;
  await db.updateTable('directory_entries').set({ modseq, updated_at: sql`now()` }).where('id', 'in', [...ids]).where('deleted', '=', false).execute();
}

/** Groups that contain the entry, and entries it manages: their shown form depends on its visibility. */
export async function dependentsOf(db: Db, entryId: string): Promise<string[]> {
  const rows = await db
    .selectFrom('directory_members')
    .select('group_id as id')
    .where('member_id', '=', entryId)
    .union(db.selectFrom('directory_entries').select('id').where('manager_id', '=', entryId).where('deleted', '=', false))
    .execute();
  return rows.map((r) => r.id);
}

export async function replaceAliases(db: Db, domainId: string, entryId: string, aliases: readonly string[], stale?: StaleTerms): Promise<void> {
  await db.deleteFrom('directory_aliases').where('entry_id', '=', entryId).execute();
  if (aliases.length > 0) {
    await db
      .insertInto('directory_aliases')
      .values(aliases.map((alias) => ({ domain_id: domainId, alias, entry_id: entryId })))
      .execute();
  }
  await termsChanged(db, [entryId], stale);
}

export async function replaceMembers(db: Db, groupId: string, memberIds: readonly string[]): Promise<void> {
  await db.deleteFrom('directory_members').where('group_id', '=', groupId).execute();
  if (memberIds.length > 0) {
    await db
      .insertInto('directory_members')
      .values([...new Set(memberIds)].map((member_id) => ({ group_id: groupId, member_id })))
      .execute();
  }
}

/** True when `groupId` is reachable from any of `memberIds` through memberships: adding them would close a cycle. */
export async function wouldCloseCycle(db: Db, groupId: string, memberIds: readonly string[]): Promise<boolean> {
  if (memberIds.length === 0) return false;
  if (memberIds.includes(groupId)) return true;
  const row = await sql<{ hit: number }>`
    with recursive reach(id) as (
      select unnest(${sql.val([...memberIds])}::uuid[])
      union
      select m.member_id from directory_members m join reach r on m.group_id = r.id
    )
    select 1 as hit from reach where id = ${groupId} limit 1`.execute(db);
  return row.rows.length > 0;
}

/**
 * Turns an entry into a tombstone: it keeps its id and modseq so /changes
 * reports it destroyed; its addresses are freed, it leaves every group, and
 * the entries it managed lose their manager.
 */
export async function tombstoneEntry(db: Db, id: string, modseq: number, stale?: StaleTerms): Promise<void> {
  await db.deleteFrom('directory_aliases').where('entry_id', '=', id).execute();
  await db.deleteFrom('directory_members').where((eb) => eb.or([eb('group_id', '=', id), eb('member_id', '=', id)])).execute();
  await db
    .updateTable('directory_entries')
    .set({ manager_id: null, modseq, updated_at: sql`now()` })
    .where('manager_id', '=', id)
    .execute();
  await db
    .updateTable('directory_entries')
    .set({ deleted: true, deleted_at: sql`now()`, photo: null, photo_type: null, photo_etag: null, modseq, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
  await termsChanged(db, [id], stale);
}

/** Changed rows (hidden ones and tombstones too) with (modseq, id) after `after`, up to `upTo`, in that order. */
export async function listChanges(db: Db, domainId: string, after: { modseq: number; id: string | null }, upTo: number, limit: number) {
  const query = entries(db)
    .where('e.domain_id', '=', domainId)
    .where('e.modseq', '<=', upTo)
    .orderBy('e.modseq')
    .orderBy('e.id')
    .limit(limit);
  const afterId = after.id;
  return (afterId ? query.where((eb) => eb(eb.refTuple('e.modseq', 'e.id'), '>', eb.tuple(after.modseq, afterId))) : query.where('e.modseq', '>', after.modseq)).execute();
}

/**
 * Live visible rows with modseq <= upTo after `after`, in (modseq, id) order,
 * as readers see them (only the shown columns): one page of a GAL full sync.
 * The order rows were written in, so a page reads neighbouring heap pages
 * (by id, a page of 5,000 visited 5,000 pages scattered over the table).
 */
export async function listLivePage(db: Db, domainId: string, upTo: number, after: LivePosition | null, limit: number) {
  let query = withReaderColumns(db.selectFrom('directory_entries as e').select(shownColumns))
    .where('e.domain_id', '=', domainId)
    .where('e.visible', '=', true)
    .where('e.modseq', '<=', upTo)
    .orderBy('e.modseq')
    .orderBy('e.id')
    .limit(limit);
  if (after) query = query.where((eb) => eb(eb.refTuple('e.modseq', 'e.id'), '>', eb.tuple(after.modseq, after.id)));
  return query.execute();
}

export interface SearchOptions {
  domainId: string;
  /** What the user typed; empty = everything. Matched word by word (search/name-fold.ts). */
  prefix: string;
  kinds?: readonly DirectoryKind[];
  /** Keyset cursor: entries after (lower(display_name), id). */
  after?: { name: string; id: string };
  offset: number;
  limit: number;
  /** Admin listings see hidden entries and disabled accounts (never tombstones). */
  includeHidden?: boolean;
  /** People only with an account (true) or only without one, i.e. contacts (false); unset: both. */
  accounts?: boolean;
}

/** Escapes LIKE wildcards so user text matches literally. */
function likePrefix(text: string): string {
  return `${escapeLike(text)}%`;
}

/**
 * Ambiguous-name resolution, as Outlook's ANR and address-book completion
 * type it: every typed word (folded: case and diacritics ignored, "vac"
 * finds Václav) must start a word of the entry's names, cn values,
 * department or office, or start one of its addresses or their local
 * parts' words. Answered from directory_anr_keys in (sort name, id) order:
 * a word of one or two letters is an equality lookup whose index order is
 * the answer's order, so a page is read and the scan stops; longer words
 * are a range of keys, few enough to sort. Further words are semi-joins.
 */
function anrPage(db: Db, options: AnrOptions, lookups: readonly WordLookup[]) {
  let query = db
    .selectFrom('directory_anr_keys as k')
    .select(['k.entry_id', 'k.sort_name'])
    .where('k.domain_id', '=', options.domainId)
    .where(lookupCondition('k', lookups[0]!));
  if (!options.includeHidden) query = query.where('k.visible', '=', true);
  if (options.kinds?.length) query = query.where('k.kind', 'in', [...options.kinds]);
  for (const lookup of lookups.slice(1)) {
    query = query.where('k.entry_id', 'in', db.selectFrom('directory_anr_keys as w').select('w.entry_id').where('w.domain_id', '=', options.domainId).where(lookupCondition('w', lookup)));
  }
  if (options.after) query = query.where(sql<SqlBool>`(k.sort_name, k.entry_id) > (${options.after.name}, ${options.after.id}::uuid)`);
  return query.groupBy(['k.sort_name', 'k.entry_id']);
}

type AnrOptions = Pick<SearchOptions, 'domainId' | 'kinds' | 'after' | 'includeHidden'>;

/** How one typed word is looked up among the keys: the statement's text depends on which, its values are parameters. */
type WordLookup = { equals: string } | { low: string; high: string } | { like: string };

function wordLookup(word: string): WordLookup {
  const condition = anrWordCondition(word);
  if ('equals' in condition) return { equals: condition.equals };
  // Range bounds rather than `like`: a prepared statement's generic plan can scan them (db/prepared-statements.ts).
  const range = likeRange(likePrefix(condition.prefix));
  return range ? { low: range.low, high: range.high } : { like: likePrefix(condition.prefix) };
}

function lookupCondition(alias: string, lookup: WordLookup) {
  const key = sql.ref(`${alias}.key`);
  if ('equals' in lookup) return sql<SqlBool>`${key} = ${lookup.equals}`;
  if ('like' in lookup) return sql<SqlBool>`${key} like ${lookup.like}`;
  return sql<SqlBool>`${key} ~>=~ ${lookup.low} and ${key} ~<~ ${lookup.high}`;
}

function browseBase(db: Db, options: SearchOptions) {
  let query = entries(db).where('e.domain_id', '=', options.domainId);
  query = options.includeHidden ? query.where('e.deleted', '=', false) : query.where('e.visible', '=', true);
  if (options.kinds?.length) query = query.where('e.kind', 'in', [...options.kinds]);
  if (options.accounts !== undefined) query = query.where('e.account_id', options.accounts ? 'is not' : 'is', null);
  return query;
}

/**
 * The typed words; text with a NUL is refused as every door refuses it
 * (db/nul-guard.ts), although folding into words would drop the NUL before
 * SQL sees it.
 */
function typedWords(prefix: string): string[] {
  if (prefix.includes('\0')) throw nulError();
  return queryWords(prefix);
}

export async function searchEntries(db: Db, options: SearchOptions) {
  if (!options.prefix) return browseEntries(db, options);
  const words = typedWords(options.prefix);
  if (words.length === 0) return { rows: [], hasMore: false };
  const lookups = words.map(wordLookup);
  // The statement's text follows from which parts it has; every value is a parameter (ANR_SEARCH compiles each shape once).
  const shape: AnrShape = {
    lookups: lookups.map((lookup) => Object.keys(lookup)[0] as AnrShape['lookups'][number]),
    kinds: options.kinds?.length ?? 0,
    after: options.after !== undefined,
    includeHidden: options.includeHidden ?? false,
  };
  const values: Record<string, string | number> = { domainId: options.domainId, offset: options.offset, limit: options.limit + 1 };
  lookups.forEach((lookup, n) => Object.entries(lookup).forEach(([part, value]) => (values[`w${n}${part}`] = value)));
  options.kinds?.forEach((kind, n) => (values[`kind${n}`] = kind));
  if (options.after) Object.assign(values, { afterName: options.after.name, afterId: options.after.id });
  const { rows } = await db.executeQuery(ANR_SEARCH.compile(db, shape, values));
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

interface AnrShape {
  lookups: Array<'equals' | 'low' | 'like'>;
  kinds: number;
  after: boolean;
  includeHidden: boolean;
}

/**
 * Directory/query's statement, one text per shape: the key page (read in index
 * order, stopping at the page size), then its entries with their aliases.
 */
const ANR_SEARCH = new ShapedStatement((db: Db, shape: AnrShape, values: Record<string, string | number>) => {
  const lookups = shape.lookups.map((kind, n): WordLookup =>
    kind === 'low' ? { low: String(values[`w${n}low`]), high: String(values[`w${n}high`]) } : kind === 'equals' ? { equals: String(values[`w${n}equals`]) } : { like: String(values[`w${n}like`]) },
  );
  const options: AnrOptions = {
    domainId: String(values.domainId),
    kinds: Array.from({ length: shape.kinds }, (_, n) => values[`kind${n}`] as DirectoryKind),
    ...(shape.after ? { after: { name: String(values.afterName), id: String(values.afterId) } } : {}),
    includeHidden: shape.includeHidden,
  };
  const page = anrPage(db, options, lookups)
    .orderBy('k.sort_name')
    .orderBy('k.entry_id')
    .offset(values.offset as number)
    .limit(values.limit as number);
  const query = entries(db)
    .innerJoin(page.as('p'), 'p.entry_id', 'e.id')
    .select('p.sort_name')
    .select(sql<string[]>`array(select a.alias from directory_aliases a where a.entry_id = e.id order by a.alias)`.as('aliases'))
    .orderBy('p.sort_name')
    .orderBy('p.entry_id');
  // One word (what is typed into a name box) is one index range whatever it is: planned once. Further words are
  // semi-joins whose best order depends on how common each word is.
  return shape.lookups.length === 1 ? query.modifyFront(sql.raw(PREPARED)) : query;
});

async function browseEntries(db: Db, options: SearchOptions) {
  let query = browseBase(db, options)
    .select(sql<string>`lower(e.display_name)`.as('sort_name'))
    .orderBy(sql`lower(e.display_name)`)
    .orderBy('e.id')
    .offset(options.offset)
    .limit(options.limit + 1);
  if (options.after) {
    const { name, id } = options.after;
    query = query.where(sql<SqlBool>`(lower(e.display_name), e.id) > (${name}, ${id}::uuid)`);
  }
  const rows = await query.execute();
  return { rows: rows.slice(0, options.limit), hasMore: rows.length > options.limit };
}

export async function countEntries(db: Db, options: SearchOptions): Promise<number> {
  if (options.prefix) {
    const words = typedWords(options.prefix);
    if (words.length === 0) return 0;
    const row = await db
      .selectFrom(anrPage(db, { ...options, after: undefined }, words.map(wordLookup)).as('matches'))
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
  const row = await browseBase(db, options)
    .clearSelect()
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Visible entries whose display name equals `name` (case-insensitively). */
export async function findByDisplayName(db: Db, domainId: string, name: string, kinds: readonly DirectoryKind[] | undefined, limit: number) {
  let query = entries(db)
    .where('e.domain_id', '=', domainId)
    .where('e.visible', '=', true)
    .where(sql<SqlBool>`lower(e.display_name) = ${name}`)
    .orderBy('e.id')
    .limit(limit);
  if (kinds?.length) query = query.where('e.kind', 'in', [...kinds]);
  return query.execute();
}

/** Photos of visible entries. */
export async function findPhotos(db: Db, domainId: string, ids: readonly string[]) {
  return db
    .selectFrom('directory_entries')
    .select(['id', 'photo', 'photo_type', 'photo_etag'])
    .where('domain_id', '=', domainId)
    .where('id', 'in', [...ids])
    .where('visible', '=', true)
    .where('photo', 'is not', null)
    .execute();
}

/** Removes up to `limit` tombstones deleted before `before`; returns how many, and per domain the highest modseq removed. */
export async function pruneTombstones(db: Db, before: Date, limit: number): Promise<{ count: number; byDomain: Map<string, number> }> {
  const rows = await sql<{ domain_id: string; modseq: number }>`
    delete from directory_entries
    where id in (select id from directory_entries where deleted and deleted_at < ${before} order by deleted_at limit ${limit})
    returning domain_id, modseq`.execute(db);
  const result = new Map<string, number>();
  for (const row of rows.rows) result.set(row.domain_id, Math.max(result.get(row.domain_id) ?? 0, Number(row.modseq)));
  return { count: rows.rows.length, byDomain: result };
}

