import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
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
  return db
    .selectFrom('calendar_events')
    .selectAll()
    .where('calendar_id', 'in', [...calendarIds])
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
