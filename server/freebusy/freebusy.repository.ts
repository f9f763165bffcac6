import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import type { FreeBusyVisibility } from '../calendar/calendar.table.ts';
import type { DirectoryKind } from '../directory/directory.table.ts';
import type { Classification } from '../calendar/ical/types.ts';
import type { AccountAvailabilityRow } from './freebusy.table.ts';

/** Reads and writes of free/busy (server/freebusy/). Plain functions; `db` may be a transaction. */

const DOMAIN_COLUMNS = ['id', 'name', 'freebusy_internal', 'freebusy_external', 'freebusy_anonymous', 'work_days', 'work_start', 'work_end', 'work_time_zone'] as const;


/** A GAL entry a principal email names (by its email or an alias). */
export interface PrincipalEntry {
  asked: string;
  entry_id: string;
  kind: DirectoryKind;
  email: string;
  account_id: string | null;
  domain_id: string;
}

/** The visible, live GAL entries the emails name (hidden entries, disabled accounts and tombstones are not found). One query. */
export async function findPrincipals(db: Db, emails: readonly string[]): Promise<PrincipalEntry[]> {
  if (emails.length === 0) return [];
  const result = await sql<PrincipalEntry>`${principalLookup(emails)}`.execute(db);
  return result.rows;
}

/** The lookup of findPrincipals as a query others build on (findPrincipalsWithContexts). */
function principalLookup(emails: readonly string[]) {
  return sql`
    select x.email as asked, e.id as entry_id, e.kind, e.email, e.account_id, e.domain_id
      from unnest(${sql.val([...emails])}::text[]) as x(email)
      cross join lateral (
        select d.* from directory_entries d where d.email = x.email and not d.deleted and d.visible
        union all
        select d.* from directory_aliases a join directory_entries d on d.id = a.entry_id where a.alias = x.email and d.visible
        limit 1
      ) e`;
}

/** The people and resources (with an email, visible) in each group, nested groups walked; `root` is the group asked. One query. */
export async function groupLeaves(db: Db, groupIds: readonly string[]): Promise<Array<Omit<PrincipalEntry, 'asked'> & { root: string }>> {
  if (groupIds.length === 0) return [];
  const result = await sql<Omit<PrincipalEntry, 'asked'> & { root: string }>`
    with recursive reach(root, id) as (
      select g, g from unnest(${sql.val([...groupIds])}::uuid[]) as g
      union
      select r.root, m.member_id from reach r join directory_members m on m.group_id = r.id
    )
    select r.root, e.id as entry_id, e.kind, e.email, e.account_id, e.domain_id
      from reach r join directory_entries e on e.id = r.id
     where e.kind <> 'group' and e.visible and e.email is not null
     order by r.root, e.email`.execute(db);
  return result.rows;
}

export interface CountingCalendar {
  id: string;
  /** Null for a room's or resource's calendar (it belongs to the GAL entry). */
  account_id: string | null;
  freebusy_visibility: FreeBusyVisibility | null;
}

/**
 * The calendars that count toward the free/busy of entry `x` (a row with
 * entry_id and account_id), as a lateral subquery of calendars: an account's
 * calendars with the flag (else its default calendar), and a room's or
 * resource's own calendar (its bookings are its busy time). The one
 * definition every free/busy read uses. Two index scans in a union rather
 * than one OR: the OR became a BitmapOr per principal, which cost more than
 * both scans (FreeBusy/query looks up 100 principals' calendars at once).
 */
const COUNTING_CALENDARS = sql`(
      select c.* from calendars c where c.account_id = x.account_id and coalesce(c.freebusy_counts, c.is_default)
      union all
      select c.* from calendars c where c.resource_id = x.entry_id)`; // a calendar has exactly one owner (calendars_one_owner): no row twice

/** The calendars that count toward each entry's free/busy, as (calendar, entry) pairs (COUNTING_CALENDARS). */
export async function countingCalendars(db: Db, entries: ReadonlyArray<{ entry_id: string; account_id: string | null }>): Promise<Array<{ id: string; entry_id: string }>> {
  if (entries.length === 0) return [];
  const result = await sql<{ id: string; entry_id: string }>`
    select c.id, x.entry_id
      from unnest(${sql.val(entries.map((e) => e.entry_id))}::uuid[], ${sql.val(entries.map((e) => e.account_id))}::uuid[]) as x(entry_id, account_id)
      cross join lateral ${COUNTING_CALENDARS} c`.execute(db);
  return result.rows;
}

/** What free/busy needs of each principal besides its busy time: its domain's policy, its own availability row, its calendars that count. */
export interface PrincipalContext {
  entry_id: string;
  domain: DomainFreeBusyRow;
  availability: OwnAvailability | null;
  calendars: CountingCalendar[];
}

/** An account's own working hours and out-of-office period (null fields: the domain's). */
export type OwnAvailability = Pick<AccountAvailabilityRow, 'work_days' | 'work_start' | 'work_end' | 'time_zone' | 'oof_from' | 'oof_until'>;

/** What a context query reads of a row before decoding: plain columns (JSON per row cost more to build and parse than the rest of the query). */
interface ContextColumns extends OwnAvailability {
  entry_id: string;
  domain_id: string;
  domain_name: string;
  freebusy_internal: FreeBusyVisibility;
  freebusy_external: FreeBusyVisibility;
  freebusy_anonymous: FreeBusyVisibility;
  domain_work_days: number[];
  domain_work_start: number;
  domain_work_end: number;
  domain_time_zone: string;
  /** False when the account has no availability row (a resource never has one). */
  own_availability: boolean;
  calendar_ids: string[] | null;
  calendar_owners: Array<string | null> | null;
  calendar_visibilities: Array<FreeBusyVisibility | null> | null;
}

/**
 * `source` (rows with entry_id, account_id and domain_id, as `x`) with each
 * row's context: its domain's policy, its own availability row, its
 * calendars that count (COUNTING_CALENDARS).
 */
function withContexts(source: RawBuilder<unknown>): RawBuilder<unknown> {
  return sql`
    select x.*, dm.name as domain_name, dm.freebusy_internal, dm.freebusy_external, dm.freebusy_anonymous,
           dm.work_days as domain_work_days, dm.work_start as domain_work_start, dm.work_end as domain_work_end, dm.work_time_zone as domain_time_zone,
           av.account_id is not null as own_availability, av.work_days, av.work_start, av.work_end, av.time_zone, av.oof_from, av.oof_until,
           cals.ids as calendar_ids, cals.owners as calendar_owners, cals.visibilities as calendar_visibilities
      from (${source}) x
      join domains dm on dm.id = x.domain_id
      left join account_availability av on av.account_id = x.account_id
      cross join lateral (select array_agg(c.id) as ids, array_agg(c.account_id) as owners, array_agg(c.freebusy_visibility) as visibilities
                            from ${COUNTING_CALENDARS} c) cals`;
}

function toContext(r: ContextColumns): PrincipalContext {
  return {
    entry_id: r.entry_id,
    domain: {
      id: r.domain_id,
      name: r.domain_name,
      freebusy_internal: r.freebusy_internal,
      freebusy_external: r.freebusy_external,
      freebusy_anonymous: r.freebusy_anonymous,
      work_days: r.domain_work_days,
      work_start: r.domain_work_start,
      work_end: r.domain_work_end,
      work_time_zone: r.domain_time_zone,
    },
    availability: r.own_availability
      ? { work_days: r.work_days, work_start: r.work_start, work_end: r.work_end, time_zone: r.time_zone, oof_from: r.oof_from, oof_until: r.oof_until }
      : null,
    calendars: (r.calendar_ids ?? []).map((id, i) => ({ id, account_id: r.calendar_owners![i] ?? null, freebusy_visibility: r.calendar_visibilities![i] ?? null })),
  };
}

/** The context of each entry in one query (domain policy, availability, counting calendars). */
export async function principalContexts(db: Db, entries: ReadonlyArray<{ entry_id: string; account_id: string | null; domain_id: string }>): Promise<Map<string, PrincipalContext>> {
  if (entries.length === 0) return new Map();
  const source = sql`select * from unnest(${sql.val(entries.map((e) => e.entry_id))}::uuid[], ${sql.val(entries.map((e) => e.account_id))}::uuid[], ${sql.val(entries.map((e) => e.domain_id))}::uuid[])
           as x(entry_id, account_id, domain_id)`;
  const result = await sql<ContextColumns>`${withContexts(source)}`.execute(db);
  return new Map(result.rows.map((r) => [r.entry_id, toContext(r)]));
}

/**
 * findPrincipals and the context of each person or resource found (groups
 * get none: their members are read with principalContexts), in one query:
 * FreeBusy/query's first round trip. Prepared: its text does not depend on the emails.
 */
export async function findPrincipalsWithContexts(db: Db, emails: readonly string[]): Promise<Array<PrincipalEntry & { context: PrincipalContext | null }>> {
  if (emails.length === 0) return [];
  const result = await sql<PrincipalEntry & ContextColumns>`select ${sql.raw(PREPARED)} * from (${withContexts(principalLookup(emails))}) y`.execute(db);
  return result.rows.map((row) => ({
    asked: row.asked,
    entry_id: row.entry_id,
    kind: row.kind,
    email: row.email,
    account_id: row.account_id,
    domain_id: row.domain_id,
    context: row.kind === 'group' ? null : toContext(row),
  }));
}

/** Free/busy reads instances this much before its window through event_instances_busy; longer ones through event_instances_long_busy (migration 3700, whose predicate LONG_BUSY repeats). */
export const BUSY_LOOK_BACK_MS = 86_400_000;
const LONG_BUSY = sql`upper(during) - lower(during) > interval '1 day'`;

/**
 * The busy instances one calendar holds in a window, by column (one entry per
 * instance in each array): a query reads thousands, and objects per instance
 * were most of its garbage.
 */
export interface CalendarBusyRows {
  calendar_id: string;
  /** Epoch milliseconds; for wall-clock instances (`wall`) the wall clock read as UTC, to be placed in the owner's zone. */
  start: number[];
  end: number[];
  /** EWS digit of the busy type: 1 tentative, 2 busy, 3 out of office. */
  rank: number[];
  classification: Classification[];
  /** Floating or all-day. */
  wall: boolean[];
  /** Read only for calendars asked `named`; null otherwise. */
  summary: Array<string | null> | null;
  location: Array<string | null> | null;
}

/** Per instance in `packed` (event_instances.busy_packed, migration 4300): start and end (float8, epoch ms), flags (int2: busy digit | class << 2 | wall << 4). */
const PACKED_INSTANCE_BYTES = 18;
const CLASS_OF: readonly Classification[] = ['PUBLIC', 'PRIVATE', 'CONFIDENTIAL'];

/**
 * The non-free indexed instances of the calendars overlapping [from, to)
 * (wall-clock rows: overlapping [wideFrom, wideTo), the window widened by the
 * floating slack; the caller places and clips them), at most `limit` in all,
 * and how many were read. One statement for all calendars, two btree range
 * scans per calendar: those starting at most BUSY_LOOK_BACK_MS before the
 * (wide) window, and those longer than that still running when it opens.
 * Calendars not `named` read index-only (time, busy type, class); only the
 * `named` ones (shown at `details`) visit the table for subject and location.
 *
 * Each calendar's instances come back as one row, packed by PostgreSQL into a
 * bytea (PACKED_INSTANCE_BYTES each): parsing thousands of text rows, a string
 * per field, cost more than reading them (docs/decisions.md "FreeBusy/query
 * speed"). The limit still stops the scans early: it applies to the instances
 * before they are grouped.
 */
export async function busyRows(
  db: Db,
  calendars: ReadonlyArray<{ id: string; named: boolean }>,
  range: { from: Date; to: Date; wideFrom: Date; wideTo: Date },
  limit: number,
): Promise<{ calendars: CalendarBusyRows[]; instances: number }> {
  if (calendars.length === 0) return { calendars: [], instances: 0 };
  const { from, to, wideFrom, wideTo } = range;
  const lookFrom = new Date(wideFrom.getTime() - BUSY_LOOK_BACK_MS);
  const inWindow = sql`during_start < case when floating or all_day then ${wideTo}::timestamptz else ${to}::timestamptz end
        and upper(during) > case when floating or all_day then ${wideFrom}::timestamptz else ${from}::timestamptz end`;
  const scans = (named: boolean) => {
    // busy_packed: the instance's bytes as PACKED_INSTANCE_BYTES describes, stored when it was written (migration 4300).
    const columns = sql`busy_packed as p, ${named ? sql`summary, location` : sql`null::text as summary, null::text as location`}`;
    return sql`
      select ${columns} from event_instances
       where calendar_id = c.id and busy_type <> 'FREE' and during_start >= ${lookFrom}::timestamptz and during_start < ${wideTo}::timestamptz and ${inWindow}
      union all
      select ${columns} from event_instances
       where calendar_id = c.id and busy_type <> 'FREE' and ${LONG_BUSY} and upper(during) > ${wideFrom}::timestamptz and during_start < ${lookFrom}::timestamptz and ${inWindow}`;
  };
  const plain = calendars.filter((c) => !c.named).map((c) => c.id);
  const named = calendars.filter((c) => c.named).map((c) => c.id);
  // Prepared: the text is the same whatever the calendars, and its planning cost a millisecond a query.
  // Groups name their calendar by position in its list (+n plain, -n named), not by a 36-character uuid string.
  const result = await sql<{ k: number; n: number; packed: Buffer; summaries: Array<string | null> | null; locations: Array<string | null> | null }>`
    select ${sql.raw(PREPARED)} r.k, count(*)::int4 as n, string_agg(r.p, ''::bytea) as packed,
           array_agg(r.summary) filter (where r.k < 0) as summaries, array_agg(r.location) filter (where r.k < 0) as locations
      from (select c.n::int4 as k, i.* from unnest(${sql.val(plain)}::uuid[]) with ordinality as c(id, n) cross join lateral (${scans(false)}) i
            union all
            select -c.n::int4, i.* from unnest(${sql.val(named)}::uuid[]) with ordinality as c(id, n) cross join lateral (${scans(true)}) i
            limit ${limit}) r
     group by r.k`.execute(db);
  let instances = 0;
  const out = result.rows.map((row) => {
    instances += row.n;
    return unpackBusy(row.k > 0 ? plain[row.k - 1]! : named[-row.k - 1]!, row.packed, row.n, row.summaries, row.locations);
  });
  return { calendars: out, instances };
}

function unpackBusy(calendarId: string, packed: Buffer, n: number, summary: Array<string | null> | null, location: Array<string | null> | null): CalendarBusyRows {
  if (packed.length !== n * PACKED_INSTANCE_BYTES) throw new Error(`busy rows of calendar ${calendarId}: ${packed.length} bytes for ${n} instances`);
  const rows: CalendarBusyRows = { calendar_id: calendarId, start: new Array(n), end: new Array(n), rank: new Array(n), classification: new Array(n), wall: new Array(n), summary, location };
  for (let i = 0, at = 0; i < n; i++, at += PACKED_INSTANCE_BYTES) {
    // Whole milliseconds: seconds × 1000 in float8 can be off by a rounding error when an instant has a fraction.
    rows.start[i] = Math.round(packed.readDoubleBE(at));
    rows.end[i] = Math.round(packed.readDoubleBE(at + 8));
    const flags = packed.readInt16BE(at + 16);
    rows.rank[i] = flags & 3;
    rows.classification[i] = CLASS_OF[(flags >> 2) & 3]!;
    rows.wall[i] = (flags & 16) !== 0;
  }
  return rows;
}

export interface DomainFreeBusyRow {
  id: string;
  name: string;
  freebusy_internal: FreeBusyVisibility;
  freebusy_external: FreeBusyVisibility;
  freebusy_anonymous: FreeBusyVisibility;
  work_days: number[];
  work_start: number;
  work_end: number;
  work_time_zone: string;
}

export async function domainPolicies(db: Db, ids: readonly string[]): Promise<Map<string, DomainFreeBusyRow>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('domains').select(DOMAIN_COLUMNS).where('id', 'in', [...new Set(ids)]).execute();
  return new Map(rows.map((r) => [r.id, r]));
}

export async function domainPolicyByName(db: Db, name: string): Promise<DomainFreeBusyRow | undefined> {
  return db.selectFrom('domains').select(DOMAIN_COLUMNS).where('name', '=', name).executeTakeFirst();
}

export async function updateDomainPolicy(db: Db, id: string, changes: Partial<Omit<DomainFreeBusyRow, 'id' | 'name'>>): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db.updateTable('domains').set(changes).where('id', '=', id).execute();
}

export async function availabilityOf(db: Db, accountIds: readonly string[]): Promise<Map<string, AccountAvailabilityRow>> {
  if (accountIds.length === 0) return new Map();
  const rows = await db.selectFrom('account_availability').selectAll().where('account_id', 'in', [...new Set(accountIds)]).execute();
  return new Map(rows.map((r) => [r.account_id, r]));
}

export type AvailabilityChanges = Partial<Pick<AccountAvailabilityRow, 'work_days' | 'work_start' | 'work_end' | 'time_zone' | 'oof_from' | 'oof_until'>>;

export async function upsertAvailability(db: Db, accountId: string, domainId: string, changes: AvailabilityChanges): Promise<void> {
  await db
    .insertInto('account_availability')
    .values({ account_id: accountId, domain_id: domainId, ...changes })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ ...changes, updated_at: sql`now()` }))
    .execute();
}

export interface CalendarSettingsRow {
  id: string;
  name: string;
  is_default: boolean;
  freebusy_counts: boolean | null;
  freebusy_visibility: FreeBusyVisibility | null;
}

export async function calendarSettingsOf(db: Db, accountId: string): Promise<CalendarSettingsRow[]> {
  return db
    .selectFrom('calendars')
    .select(['id', 'name', 'is_default', 'freebusy_counts', 'freebusy_visibility'])
    .where('account_id', '=', accountId)
    .orderBy('is_default', 'desc')
    .orderBy('name')
    .orderBy('id')
    .execute();
}

/** Changes one calendar's free/busy settings if `accountId` owns it; false when it does not (or it does not exist). */
export async function updateCalendarFreeBusy(
  db: Db,
  accountId: string,
  calendarId: string,
  changes: { freebusy_counts?: boolean; freebusy_visibility?: FreeBusyVisibility | null },
): Promise<boolean> {
  const owned = await db.selectFrom('calendars').select('id').where('id', '=', calendarId).where('account_id', '=', accountId).executeTakeFirst();
  if (!owned) return false;
  if (Object.keys(changes).length > 0) await db.updateTable('calendars').set(changes).where('id', '=', calendarId).execute();
  return true;
}

/** Rooms of a domain with at least `minCapacity` seats, smallest first (then by email), at most `limit`. */
export async function roomsWithCapacity(db: Db, domainId: string, minCapacity: number, limit: number): Promise<Array<Omit<PrincipalEntry, 'asked'>>> {
  return db
    .selectFrom('directory_entries')
    .select(['id as entry_id', 'kind', sql<string>`email`.as('email'), 'account_id', 'domain_id'])
    .where('domain_id', '=', domainId)
    .where('kind', '=', 'resource')
    .where('resource_type', '=', 'room')
    .where('visible', '=', true)
    .where('email', 'is not', null)
    .where('capacity', '>=', minCapacity)
    .orderBy('capacity')
    .orderBy('email')
    .limit(limit)
    .execute();
}

/** Sets (or with null clears) the hash of an account's publishing token. */
export async function setPublishToken(db: Db, accountId: string, domainId: string, hash: Buffer | null): Promise<void> {
  await db
    .insertInto('account_availability')
    .values({ account_id: accountId, domain_id: domainId, publish_token_hash: hash })
    .onConflict((oc) => oc.column('account_id').doUpdateSet({ publish_token_hash: hash, updated_at: sql`now()` }))
    .execute();
}

/** Does this token hash publish this account's free/busy? */
export async function publishTokenMatches(db: Db, accountId: string, hash: Buffer): Promise<boolean> {
  const row = await db.selectFrom('account_availability').select('account_id').where('account_id', '=', accountId).where('publish_token_hash', '=', hash).executeTakeFirst();
  return row !== undefined;
}
