import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import type { AccessRight, CalendarRow, CalendarTable } from './calendar.table.ts';

/**
 * Rights resolution in SQL: ONE statement for any number of viewers and
 * calendars (DESIGN §6). A viewer holds a grant directly (grantee_kind
 * 'account') or through a GAL group it belongs to, nested groups included
 * (the recursive walk goes up directory_members from the viewer's own entry;
 * `union` stops at cycles). Hidden groups still confer rights (hiding is
 * about the address book, as in Exchange); a deleted group has no members
 * left, so it confers nothing.
 */

/** Which calendars: by id, or each given owner's default calendar (free/busy for N people). */
export type CalendarTarget = { calendarIds: readonly string[] } | { defaultCalendarsOf: readonly string[] };

/** An account's calendar (the join below drops resource calendars, which no account owns: scheduling/resource-calendars.ts). */
export type CalendarWithOwner = Omit<CalendarRow, 'account_id' | 'resource_id'> & { account_id: string; resource_id: null; owner_email: string; owner_domain_id: string };

export interface GrantRow {
  viewer_id: string;
  calendar: CalendarWithOwner;
  /** Null for the owner's own row without grants. */
  access_right: AccessRight | null;
  is_delegate: boolean | null;
  private_access: boolean | null;
}

/**
 * The calendar columns by name: the statement below is prepared (planned once per connection: its
 * recursive walk costs PostgreSQL more to plan than to run, on every write and read), and a
 * prepared `*` would fail on every node once a migration adds a column. The check below makes
 * a column added to CalendarTable and not listed here a type error.
 */
const CALENDAR_COLUMN_NAMES = ['id', 'account_id', 'resource_id', 'name', 'color', 'description', 'is_default', 'created_at', 'updated_at', 'freebusy_counts', 'freebusy_visibility'] as const;
const everyCalendarColumn: [Exclude<keyof CalendarTable, (typeof CALENDAR_COLUMN_NAMES)[number]>] extends [never] ? true : never = true;
const CALENDAR_COLUMNS = sql.raw(everyCalendarColumn && CALENDAR_COLUMN_NAMES.join(', '));

/** Every grant (direct or through groups) each viewer holds on the target calendars, plus a row for each calendar a viewer owns. */
export async function grantRowsFor(db: Db, viewerIds: readonly string[], target: CalendarTarget): Promise<GrantRow[]> {
  if (viewerIds.length === 0) return [];
  const targets: RawBuilder<unknown> =
    'calendarIds' in target
      ? sql`select ${CALENDAR_COLUMNS} from calendars where id = any(${sql.val([...target.calendarIds])}::uuid[])`
      : sql`select ${CALENDAR_COLUMNS} from calendars where is_default and account_id = any(${sql.val([...target.defaultCalendarsOf])}::uuid[])`;
  const result = await sql<{
    viewer_id: string;
    id: string;
    account_id: string;
    resource_id: null;
    name: string;
    color: string | null;
    description: string | null;
    is_default: boolean;
    created_at: Date;
    updated_at: Date;
    freebusy_counts: boolean | null;
    freebusy_visibility: 'none' | 'time' | 'details' | null;
    owner_email: string;
    owner_domain_id: string;
    access_right: AccessRight | null;
    is_delegate: boolean | null;
    private_access: boolean | null;
  }>`
    with ${sql.raw(PREPARED)} recursive viewers(viewer_id) as (select unnest(${sql.val([...viewerIds])}::uuid[])),
    member_of(viewer_id, group_id) as (
      select e.account_id, m.group_id
        from directory_entries e join directory_members m on m.member_id = e.id
       where e.account_id = any(${sql.val([...viewerIds])}::uuid[]) and not e.deleted
      union
      select u.viewer_id, m.group_id from member_of u join directory_members m on m.member_id = u.group_id
    ),
    targets as (${targets})
    select v.viewer_id, t.*, o.email as owner_email, o.domain_id as owner_domain_id, g.access_right, g.is_delegate, g.private_access
      from targets t
      join accounts o on o.id = t.account_id
      cross join viewers v
      left join calendar_grants g on g.calendar_id = t.id and (
            (g.grantee_kind = 'account' and g.grantee_id = v.viewer_id)
         or (g.grantee_kind = 'group' and g.grantee_id in (select group_id from member_of u where u.viewer_id = v.viewer_id)))
     where t.account_id = v.viewer_id or g.calendar_id is not null
  `.execute(db);
  return result.rows.map(({ viewer_id, access_right, is_delegate, private_access, ...calendar }) => ({ viewer_id, calendar, access_right, is_delegate, private_access }));
}

/** Accounts that are members of the groups, nested groups included. */
export async function accountsInGroups(db: Db, groupIds: readonly string[]): Promise<string[]> {
  if (groupIds.length === 0) return [];
  const result = await sql<{ account_id: string }>`
    with recursive reach(id) as (
      select unnest(${sql.val([...groupIds])}::uuid[])
      union
      select m.member_id from directory_members m join reach r on m.group_id = r.id
    )
    select distinct e.account_id from reach r join directory_entries e on e.id = r.id where e.account_id is not null and not e.deleted
  `.execute(db);
  return result.rows.map((r) => r.account_id);
}

/**
 * What group grants give in one domain, as (account, calendar, right rank,
 * private) — the rows a membership change can alter. SQL text shared by the
 * snapshot taken before a GAL write and the comparison after it.
 */
function groupAccessQuery(domainId: string): RawBuilder<unknown> {
  return sql`
    with recursive granted as (
      select distinct g.grantee_id as group_id
        from calendar_grants g join directory_entries ge on ge.id = g.grantee_id
       where g.grantee_kind = 'group' and ge.domain_id = ${domainId}
    ),
    reach(group_id, member_id) as (
      select m.group_id, m.member_id from directory_members m join granted on granted.group_id = m.group_id
      union
      select r.group_id, m.member_id from reach r join directory_members m on m.group_id = r.member_id
    )
    select e.account_id, g.calendar_id,
           max(case g.access_right when 'freebusy' then 1 when 'details' then 2 when 'read' then 3 when 'write' then 4 else 5 end) as rank,
           bool_or(g.is_delegate) as delegate, bool_or(g.is_delegate and g.private_access) as private
      from reach r
      join directory_entries e on e.id = r.member_id and e.account_id is not null and not e.deleted
      join calendar_grants g on g.grantee_kind = 'group' and g.grantee_id = r.group_id
     group by e.account_id, g.calendar_id`;
}

/** Does any group of the domain hold a grant? (Most GAL writes can then skip the snapshot.) */
export async function domainHasGroupGrants(db: Db, domainId: string): Promise<boolean> {
  const result = await sql<{ hit: number }>`
    select 1 as hit from calendar_grants g join directory_entries ge on ge.id = g.grantee_id
     where g.grantee_kind = 'group' and ge.domain_id = ${domainId} limit 1`.execute(db);
  return result.rows.length > 0;
}

/**
 * Saves what group grants give in the domain into a temporary table that
 * lives until the transaction ends; the rows stay in PostgreSQL however large
 * the groups are.
 */
export async function snapshotGroupAccess(db: Db, domainId: string): Promise<void> {
  await sql`create temporary table ${snapshotTable(domainId)} on commit drop as ${groupAccessQuery(domainId)}`.execute(db);
}

/** One snapshot per domain: a strict import writes several domains in one transaction. */
function snapshotTable(domainId: string): RawBuilder<unknown> {
  return sql.raw(`group_access_before_${domainId.replace(/[^0-9a-f]/gi, '')}`);
}

/** The (account, calendar) pairs whose group-given access differs from the snapshot. */
export async function groupAccessChanges(db: Db, domainId: string): Promise<Array<{ account_id: string; calendar_id: string }>> {
  const result = await sql<{ account_id: string; calendar_id: string }>`
    with now as (${groupAccessQuery(domainId)})
    select coalesce(n.account_id, b.account_id) as account_id, coalesce(n.calendar_id, b.calendar_id) as calendar_id
      from now n full join ${snapshotTable(domainId)} b on b.account_id = n.account_id and b.calendar_id = n.calendar_id
     where n.rank is distinct from b.rank or n.delegate is distinct from b.delegate or n.private is distinct from b.private`.execute(db);
  await sql`drop table ${snapshotTable(domainId)}`.execute(db);
  return result.rows;
}
