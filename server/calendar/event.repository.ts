import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import type { CalendarEventRow } from './event.table.ts';

/** calendar_events: one row per (calendar, UID); a destroy leaves a tombstone (ics null, deleted). */

export interface EventColumns {
  uid: string;
  ics: string;
  summary: string | null;
  first_start: Date;
  last_end: Date | null;
  recurring: boolean;
  classification: string;
  expanded_from: Date | null;
  expanded_until: Date | null;
}

export async function findLiveEvents(db: Db, calendarId: string, ids: readonly string[]): Promise<CalendarEventRow[]> {
  if (ids.length === 0) return [];
  return db.selectFrom('calendar_events').selectAll().where('calendar_id', '=', calendarId).where('id', 'in', [...ids]).where('deleted', '=', false).execute();
}

export async function findLiveEventByUid(db: Db, calendarId: string, uid: string): Promise<CalendarEventRow | undefined> {
  return db.selectFrom('calendar_events').selectAll().where('calendar_id', '=', calendarId).where('uid', '=', uid).where('deleted', '=', false).executeTakeFirst();
}

/** The live event with this UID in each of the calendars that has one (calendar id → event id; one query). */
export async function liveEventIdsByUid(db: Db, uid: string, calendarIds: readonly string[]): Promise<Map<string, string>> {
  if (calendarIds.length === 0) return new Map();
  const rows = await db.selectFrom('calendar_events').select(['id', 'calendar_id']).where('uid', '=', uid).where('calendar_id', 'in', [...new Set(calendarIds)]).where('deleted', '=', false).execute();
  return new Map(rows.map((r) => [r.calendar_id, r.id]));
}

/** UTF-8 bytes of the stored text of each of these events (what the storage quota counts; tombstones: 0). */
export async function storedBytesOf(db: Db, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map();
  const rows = await db.selectFrom('calendar_events').select(['id', sql<number>`coalesce(octet_length(ics), 0)`.as('bytes')]).where('id', 'in', [...ids]).execute();
  return new Map(rows.map((r) => [r.id, Number(r.bytes)]));
}

/** The row a create with this idempotency key made (live or tombstone), if it is still kept. */
export async function findEventByIdempotencyKey(db: Db, calendarId: string, key: string) {
  return db.selectFrom('calendar_events').select(['id', 'uid', 'classification']).where('calendar_id', '=', calendarId).where('idempotency_key', '=', key).executeTakeFirst();
}

export async function insertEvent(db: Db, calendarId: string, modseq: number, columns: EventColumns, idempotencyKey: string | null): Promise<CalendarEventRow> {
  return db
    .insertInto('calendar_events')
    .values({ calendar_id: calendarId, modseq, created_modseq: modseq, idempotency_key: idempotencyKey, version: 1, ...columns })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateEvent(db: Db, id: string, modseq: number, columns: EventColumns): Promise<number> {
  const row = await db
    .updateTable('calendar_events')
    .set({ ...columns, modseq, version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}

/**
 * The same columns written to several events at once (the scheduler's copies
 * of one organizer text), each stamped with its own calendar's modseq: one
 * statement for any number, inserting the ids not given. Returns the id
 * written for each item, in order. Calendars must be distinct among new ones.
 */
export async function writeEventsAlike(db: Db, columns: EventColumns, items: ReadonlyArray<{ id: string | undefined; calendarId: string; modseq: number }>): Promise<string[]> {
  const existing = items.filter((i) => i.id !== undefined);
  const fresh = items.filter((i) => i.id === undefined);
  const ids = new Map<string, string>();
  if (fresh.length > 0) {
    const rows = await db
      .insertInto('calendar_events')
      .values(fresh.map((i) => ({ calendar_id: i.calendarId, modseq: i.modseq, created_modseq: i.modseq, idempotency_key: null, version: 1, ...columns })))
      .returning(['id', 'calendar_id'])
      .execute();
    for (const row of rows) ids.set(row.calendar_id, row.id);
  }
  if (existing.length > 0) {
    const c = columns;
    await sql`
      update calendar_events e
         set uid = ${c.uid}, ics = ${c.ics}, summary = ${c.summary}, first_start = ${c.first_start}, last_end = ${c.last_end}, recurring = ${c.recurring},
             classification = ${c.classification}, expanded_from = ${c.expanded_from}, expanded_until = ${c.expanded_until},
             modseq = v.m, version = e.version + 1, updated_at = now()
        from unnest(${sql.val(existing.map((i) => i.id!))}::uuid[], ${sql.val(existing.map((i) => i.modseq))}::bigint[]) as v(id, m)
       where e.id = v.id`.execute(db);
  }
  return items.map((i) => i.id ?? ids.get(i.calendarId)!);
}

/** Tombstones of several events, each stamped with its own calendar's modseq (one statement). */
export async function tombstoneEvents(db: Db, items: ReadonlyArray<{ id: string; modseq: number }>): Promise<void> {
  if (items.length === 0) return;
  await sql`
    update calendar_events e
       set ics = null, summary = null, deleted = true, deleted_at = now(), modseq = v.m, version = e.version + 1,
           expanded_from = null, expanded_until = null, updated_at = now()
      from unnest(${sql.val(items.map((i) => i.id))}::uuid[], ${sql.val(items.map((i) => i.modseq))}::bigint[]) as v(id, m)
     where e.id = v.id`.execute(db);
}

/** Turns the row into a tombstone stamped with the destroying write's modseq. */
export async function tombstoneEvent(db: Db, id: string, modseq: number): Promise<void> {
  await db
    .updateTable('calendar_events')
    .set({ ics: null, summary: null, deleted: true, deleted_at: sql<Date>`now()`, modseq, version: sql<number>`version + 1`, expanded_from: null, expanded_until: null, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .execute();
}

export async function setIndexBounds(db: Db, id: string, bounds: { from?: Date | null; until: Date | null }): Promise<void> {
  await db
    .updateTable('calendar_events')
    .set({ ...(bounds.from !== undefined ? { expanded_from: bounds.from } : {}), expanded_until: bounds.until })
    .where('id', '=', id)
    .execute();
}

/** Rows (live and tombstones) with (modseq, id) after the cursor and modseq <= upTo, in log order. */
export async function eventChangesPage(db: Db, calendarId: string, after: { modseq: number; id: string | null }, upTo: number, limit: number): Promise<CalendarEventRow[]> {
  let query = db
    .selectFrom('calendar_events')
    .selectAll()
    .where('calendar_id', '=', calendarId)
    .where('modseq', '<=', upTo)
    .orderBy('modseq')
    .orderBy('id')
    .limit(limit);
  query = after.id ? query.where(sql<boolean>`(modseq, id) > (${after.modseq}, ${after.id}::uuid)`) : query.where('modseq', '>', after.modseq);
  return query.execute();
}

/**
 * Live rows by id order for an initial sync pinned at `upTo`: every object
 * that existed at `upTo` and still does, in its current version (a later
 * edit then also shows up in the log from `upTo` as an update, harmlessly).
 * Filtering on created_modseq, not modseq, matters: an object edited after
 * `upTo` but before its page was read must still be sent here, since the log
 * will only call it "updated".
 */
export async function liveEventsPage(db: Db, calendarId: string, afterId: string | null, upTo: number, limit: number, onlyIds?: readonly string[]): Promise<CalendarEventRow[]> {
  if (onlyIds && onlyIds.length === 0) return [];
  let query = db
    .selectFrom('calendar_events')
    .selectAll()
    .where('calendar_id', '=', calendarId)
    .where('deleted', '=', false)
    .where('created_modseq', '<=', upTo)
    .orderBy('id')
    .limit(limit);
  if (afterId) query = query.where('id', '>', afterId);
  if (onlyIds) query = query.where(sql<boolean>`id = any(${[...onlyIds]}::uuid[])`);
  return query.execute();
}

/** Live rows whose last change is at or before the cursor (what an unchanged replica holds). */
export async function liveEventsUpTo(db: Db, calendarId: string, cursor: { modseq: number; id: string | null }, ids: readonly string[]): Promise<CalendarEventRow[]> {
  if (ids.length === 0) return [];
  const bound = cursor.id ? sql<boolean>`(modseq, id) <= (${cursor.modseq}, ${cursor.id}::uuid)` : sql<boolean>`modseq <= ${cursor.modseq}`;
  return db
    .selectFrom('calendar_events')
    .selectAll()
    .where('calendar_id', '=', calendarId)
    .where('deleted', '=', false)
    .where(bound)
    .where(sql<boolean>`id = any(${[...ids]}::uuid[])`)
    .execute();
}

/**
 * Live events that may have instances in [from, to) the index does not hold:
 * their index ends before `to` or starts after `from`, and the series itself
 * reaches into the range.
 */
export async function eventsNotFullyIndexed(db: Db, calendarIds: readonly string[], from: Date, to: Date): Promise<CalendarEventRow[]> {
  if (calendarIds.length === 0) return [];
  // `= any(array)`: one parameter whatever the number of calendars (an IN list of 100 cost more to plan than to run);
  // prepared: every free/busy query asks it, and planning it cost more than running it (it finds nothing once indexed).
  return db
    .selectFrom('calendar_events')
    .modifyFront(sql.raw(PREPARED))
    .selectAll()
    .where('calendar_id', '=', sql<string>`any(${sql.val([...calendarIds])}::uuid[])`)
    .where('deleted', '=', false)
    .where((eb) => eb.or([eb('expanded_until', '<', to), eb('expanded_from', '>', from)]))
    .where('first_start', '<', to)
    .where((eb) => eb.or([eb('last_end', 'is', null), eb('last_end', '>', from)]))
    .execute();
}

/**
 * Deletes tombstones older than the cutoff and returns the highest pruned
 * modseq per calendar. The caller raises min_modseq in the same transaction,
 * so no reader ever sees the tombstones gone but min_modseq not yet raised.
 */
export async function pruneEventTombstones(db: Db, cutoff: Date, limit: number): Promise<Array<{ calendar_id: string; max_modseq: number }>> {
  const result = await sql<{ calendar_id: string; max_modseq: number }>`
    with gone as (
      delete from calendar_events where id in (
        select id from calendar_events where deleted and deleted_at < ${cutoff} limit ${limit}
      ) returning calendar_id, modseq
    )
    select calendar_id, max(modseq)::bigint as max_modseq from gone group by calendar_id
  `.execute(db);
  return result.rows;
}

/** Live events whose index must be extended to reach `target`; locked, skipping ones another node holds. */
export async function lockEventsToExtend(db: Db, target: Date, limit: number): Promise<CalendarEventRow[]> {
  return db
    .selectFrom('calendar_events')
    .selectAll()
    .where('deleted', '=', false)
    .where('expanded_until', 'is not', null)
    .where('expanded_until', '<', target)
    .orderBy('expanded_until')
    .limit(limit)
    .forUpdate()
    .skipLocked()
    .execute();
}
