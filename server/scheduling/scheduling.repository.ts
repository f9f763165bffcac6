import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import type { ScheduledCopyTable } from './scheduling.table.ts';

/** Who an address is on this server, and the links between organizer events and their copies. Plain functions. */

export type Recipient =
  | { kind: 'account'; address: string; accountId: string; calendarId: string }
  | { kind: 'resource'; address: string; resourceId: string; calendarId: string; domainId: string };

/**
 * The internal recipients among `addresses` (lower case): accounts by their
 * email or a GAL alias (their default calendar), resources by email or alias
 * (their server-owned calendar). Others are external. One query.
 */
export async function resolveRecipients(db: Db, addresses: readonly string[]): Promise<Map<string, Recipient>> {
  if (addresses.length === 0) return new Map();
  const result = await sql<{ address: string; account_id: string | null; resource_id: string | null; domain_id: string; calendar_id: string }>`
    with a(address) as (select distinct unnest(${sql.val([...addresses])}::text[])),
    entry as (
      select a.address, e.id, e.kind, e.account_id, e.domain_id from a join directory_entries e on e.email = a.address and not e.deleted
      union
      select a.address, e.id, e.kind, e.account_id, e.domain_id from a join directory_aliases da on da.alias = a.address join directory_entries e on e.id = da.entry_id and not e.deleted
    )
    select a.address, acc.id as account_id, null::uuid as resource_id, acc.domain_id, c.id as calendar_id
      from a join accounts acc on acc.email = a.address join calendars c on c.account_id = acc.id and c.is_default
    union
    select e.address, e.account_id, null, e.domain_id, c.id from entry e join calendars c on c.account_id = e.account_id and c.is_default where e.account_id is not null
    union
    select e.address, null, e.id, e.domain_id, c.id from entry e join calendars c on c.resource_id = e.id where e.kind = 'resource'
  `.execute(db);
  const out = new Map<string, Recipient>();
  for (const r of result.rows) {
    if (out.has(r.address)) continue;
    out.set(
      r.address,
      r.account_id ? { kind: 'account', address: r.address, accountId: r.account_id, calendarId: r.calendar_id } : { kind: 'resource', address: r.address, resourceId: r.resource_id!, calendarId: r.calendar_id, domainId: r.domain_id },
    );
  }
  return out;
}

/** Every address of an account: its email and its GAL aliases (lower case). */
export async function addressesOfAccount(db: Db, accountId: string): Promise<Set<string>> {
  const result = await sql<{ address: string }>`
    select email as address from accounts where id = ${accountId}
    union
    select da.alias from directory_entries e join directory_aliases da on da.entry_id = e.id where e.account_id = ${accountId} and not e.deleted
  `.execute(db);
  return new Set(result.rows.map((r) => r.address.toLowerCase()));
}

export type CopyLink = ScheduledCopyTable;

/** Links of the given copies (an attendee's events). */
export async function linksOfCopies(db: Db, eventIds: readonly string[]): Promise<Map<string, CopyLink>> {
  if (eventIds.length === 0) return new Map();
  const rows = await db.selectFrom('scheduled_copies').selectAll().where('event_id', 'in', [...eventIds]).execute();
  return new Map(rows.map((r) => [r.event_id, r]));
}

/** The copies of organizer events, with the calendar each copy lives in. */
export async function copiesOf(db: Db, organizerEventIds: readonly string[]): Promise<Array<CopyLink & { calendar_id: string; account_id: string | null; resource_id: string | null }>> {
  if (organizerEventIds.length === 0) return [];
  return db
    .selectFrom('scheduled_copies as s')
    .innerJoin('calendar_events as e', 'e.id', 's.event_id')
    .innerJoin('calendars as c', 'c.id', 'e.calendar_id')
    .select(['s.event_id', 's.organizer_event_id', 's.organizer_calendar_id', 's.attendee', 'e.calendar_id', 'c.account_id', 'c.resource_id'])
    .where('s.organizer_event_id', 'in', [...organizerEventIds])
    .where('e.deleted', '=', false)
    .execute();
}

/** Links copies to their organizer's event (one statement; of two links of one copy, the later counts). */
export async function insertLinks(db: Db, links: readonly CopyLink[]): Promise<void> {
  const unique = [...new Map(links.map((l) => [l.event_id, l])).values()];
  if (unique.length === 0) return;
  await db
    .insertInto('scheduled_copies')
    .values(unique)
    .onConflict((oc) =>
      oc.column('event_id').doUpdateSet((eb) => ({ organizer_event_id: eb.ref('excluded.organizer_event_id'), organizer_calendar_id: eb.ref('excluded.organizer_calendar_id'), attendee: eb.ref('excluded.attendee') })),
    )
    .execute();
}

export async function deleteLink(db: Db, eventId: string): Promise<void> {
  await deleteLinks(db, [eventId]);
}

export async function deleteLinks(db: Db, eventIds: readonly string[]): Promise<void> {
  if (eventIds.length === 0) return;
  await db.deleteFrom('scheduled_copies').where('event_id', 'in', [...eventIds]).execute();
}

export async function findLiveEvent(db: Db, id: string): Promise<CalendarEventRow | undefined> {
  return db.selectFrom('calendar_events').selectAll().where('id', '=', id).where('deleted', '=', false).executeTakeFirst();
}

/** The account that owns a calendar (null for a resource's). */
export async function ownerOfCalendar(db: Db, calendarId: string): Promise<string | null> {
  const row = await db.selectFrom('calendars').select('account_id').where('id', '=', calendarId).executeTakeFirst();
  return row?.account_id ?? null;
}

/** Who opted in to delegate copies of the scheduling messages of these calendars (the grant is checked by the caller). */
export async function delegateCopyOptIns(db: Db, calendarIds: readonly string[]): Promise<Array<{ calendar_id: string; account_id: string }>> {
  if (calendarIds.length === 0) return [];
  return db.selectFrom('delegate_inbox_copies').select(['calendar_id', 'account_id']).where('calendar_id', 'in', [...calendarIds]).execute();
}

/** The approvers (accounts) of each of these resources, from their booking policies, whatever the mode (held requests outlive a mode change). */
export async function approversOf(db: Db, resourceIds: readonly string[]): Promise<Map<string, string[]>> {
  if (resourceIds.length === 0) return new Map();
  const result = await sql<{ resource_id: string; account_id: string }>`
    select p.resource_id, e.account_id from resource_policies p
      join directory_entries e on e.id = any(p.approvers) and not e.deleted and e.account_id is not null
     where p.resource_id = any(${sql.val([...new Set(resourceIds)])}::uuid[])
     order by e.account_id`.execute(db);
  const out = new Map<string, string[]>();
  for (const r of result.rows) out.set(r.resource_id, [...(out.get(r.resource_id) ?? []), r.account_id]);
  return out;
}

/**
 * Dismisses the `approval` messages about these resource copies (decided,
 * asked again, or cancelled) in the inboxes of the given approvers, each
 * stamped with the modseq its inbox was bumped to.
 */
export async function dismissApprovals(db: Db, copyIds: readonly string[], inboxes: ReadonlyMap<string, number>): Promise<void> {
  if (copyIds.length === 0 || inboxes.size === 0) return;
  await sql`
    update inbox_messages m set deleted = true, deleted_at = now(), modseq = v.m
      from unnest(${sql.val([...inboxes.keys()])}::uuid[], ${sql.val([...inboxes.values()])}::bigint[]) as v(a, m)
     where m.account_id = v.a and m.kind = 'approval' and not m.deleted and m.event_id = any(${sql.val([...copyIds])}::uuid[])`.execute(db);
}

/** The live copies of an organizer's event with their texts (an answer spreads to them: Schedule.spreadAnswer). */
export async function copyTextsOf(db: Db, organizerEventId: string): Promise<Array<{ event_id: string; calendar_id: string; attendee: string; ics: string }>> {
  const rows = await db
    .selectFrom('scheduled_copies as s')
    .innerJoin('calendar_events as e', 'e.id', 's.event_id')
    .select(['s.event_id', 'e.calendar_id', 's.attendee', 'e.ics'])
    .where('s.organizer_event_id', '=', organizerEventId)
    .where('e.deleted', '=', false)
    .orderBy('s.event_id')
    .execute();
  return rows.flatMap((r) => (r.ics === null ? [] : [{ ...r, ics: r.ics }]));
}

/**
 * New texts for events whose columns and occurrence index stay as they are
 * (server-made PARTSTAT edits), each stamped with its own calendar's modseq:
 * one statement for any number. Returns each event's new version.
 */
export async function rewriteTexts(db: Db, items: ReadonlyArray<{ id: string; ics: string; modseq: number }>): Promise<Map<string, number>> {
  if (items.length === 0) return new Map();
  const result = await sql<{ id: string; version: number }>`
    update calendar_events e set ics = v.ics, modseq = v.m, version = e.version + 1, updated_at = now()
      from unnest(${sql.val(items.map((i) => i.id))}::uuid[], ${sql.val(items.map((i) => i.ics))}::text[], ${sql.val(items.map((i) => i.modseq))}::bigint[]) as v(id, ics, m)
     where e.id = v.id
    returning e.id, e.version`.execute(db);
  return new Map(result.rows.map((r) => [r.id, r.version]));
}
