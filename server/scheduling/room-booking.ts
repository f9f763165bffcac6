import { sql } from 'kysely';
import type { BookingConflict, ScheduleOutcome } from '../../protocol/index.ts';
import type { PlannedIndex } from '../calendar/index-plan.ts';
import type { Db } from '../db/database.ts';
import { isPublic } from '../calendar/privacy/index.ts';
import { itipView, occurrencesDeclinedBy } from './itip.ts';
import type { ResourcePolicyRow } from './scheduling.table.ts';
import { SchedulingLimits } from './scheduling-limits.ts';
import { extendBookedSeries, forgetBookedSeries, instancesPastIndex, recordBookedSeries, type BookedInstance, type ExpandBookable } from './room-booking-reach.ts';

/**
 * A resource's answer to a booking request (DESIGN §6a), decided inside the
 * organizer's transaction, which holds the resource calendar's scope lock —
 * so concurrent requests for one resource are decided one after another.
 * PostgreSQL has the last word all the same: the booked instances go into
 * resource_bookings, whose exclusion constraint refuses any overlap
 * (SQLSTATE 23P01), in a savepoint so a refusal declines this resource only.
 *
 * Order of the rules (the first that applies answers): mode decline →
 * bookers → recurring → duration → window → conflicts → mode (auto: ACCEPTED,
 * approval: TENTATIVE). Cancelled and transparent instances book nothing.
 * Instances past the index horizon are booked too (room-booking-reach.ts).
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Conflicts named in one decline. */
export const MAX_CONFLICTS_NAMED = 5;

export interface BookingRequest {
  resourceId: string;
  domainId: string;
  /** The resource's copy of the event (its bookings are replaced); null when predicting for a copy not yet made. */
  copyEventId: string | null;
  bookerAccountId: string;
  bookerDomainId: string;
  recurring: boolean;
  firstStart: Date;
  lastEnd: Date | null;
  index: PlannedIndex;
  /** The text the index was planned from: its instances past the index are expanded from it. */
  ics: string;
  expand: ExpandBookable;
  now: Date;
}

/** When a resource declining for a conflict is free instead (`freeSlots`). */
export type FreeSlots = Pick<ScheduleOutcome, 'freeNext' | 'freeEarlier'>;

export type BookingAnswer = ScheduleOutcome & { partstat: 'ACCEPTED' | 'TENTATIVE' | 'DECLINED' };

/** A resource's answer, and the occurrences past the index it declined alone (their overrides are made from these). */
export interface BookingDecision {
  answer: BookingAnswer;
  farDeclined: readonly BookedInstance[];
}

export async function readPolicy(db: Db, resourceId: string): Promise<ResourcePolicyRow | undefined> {
  return db.selectFrom('resource_policies').selectAll().where('resource_id', '=', resourceId).executeTakeFirst();
}

/**
 * The answer the rules give and, when it books, the instances to book (and,
 * for a series without an end, how far they reach). Writes nothing, except
 * with `extend`: then other series' rows are first made as far as this
 * request reaches (room-booking-reach.ts; only under the resource's lock).
 */
async function decide(db: Db, req: BookingRequest, extend: boolean): Promise<{ answer: BookingAnswer; book: BookedInstance[]; seriesUntil: Date | null; policy?: ResourcePolicyRow; farDeclined?: BookedInstance[] }> {
  const policy = await readPolicy(db, req.resourceId);
  const decline = (reason: NonNullable<ScheduleOutcome['reason']>, conflicts?: BookingConflict[]) => ({
    answer: { delivery: 'answered' as const, partstat: 'DECLINED' as const, reason, ...(conflicts ? { conflicts } : {}) },
    book: [],
    seriesUntil: null,
    ...(policy ? { policy } : {}),
  });
  if (!policy || policy.mode === 'decline') return decline('policy');
  if (!(await mayBook(db, policy, req))) return decline('not-allowed');
  if (req.recurring && !policy.allow_recurring) return decline('recurring');
  const indexed = req.index.rows.filter((r) => r.status !== 'CANCELLED' && !r.transparent);
  if (indexed.some((r) => r.end.getTime() - r.start.getTime() > policy.max_duration_minutes * MINUTE_MS)) return decline('duration');
  const horizon = req.now.getTime() + policy.booking_window_days * DAY_MS;
  // Every occurrence must lie inside the window; a series without an end must start inside it, where the policy books those.
  if (req.lastEnd === null ? !policy.unbounded_series || req.firstStart.getTime() > horizon : req.lastEnd.getTime() > horizon) return decline('window');
  // Past the index (its horizon or its row cap): up to the series' end, or, without one, as far as anyone booked the resource.
  const { far, seriesUntil } = await instancesPastIndex(db, req.expand, { ...req, indexUntil: req.index.until, windowEnd: new Date(horizon) });
  if (far.some((r) => r.end.getTime() - r.start.getTime() > policy.max_duration_minutes * MINUTE_MS)) return decline('duration');
  const future = [...indexed, ...far].filter((r) => r.end > req.now);
  if (extend && req.copyEventId) await extendAsFarAs(db, req.expand, req.resourceId, req.copyEventId, future);

  const conflicting = await conflictsWith(db, req, future, policy);
  if (conflicting.length > 0 && req.recurring && policy.decline_occurrences) {
    // The series is accepted (or held) without the occurrences that overlap a booking, each declined alone (an
    // override each; past the index too, made from the expansion's wall-clock times: BookedInstance.local).
    const clashing = await overlapping(db, req, future);
    const free = future.filter((r) => !clashing.has(r.recurrenceId));
    const farDeclined = far.filter((r) => clashing.has(r.recurrenceId));
    if (free.length > 0 && farDeclined.every((r) => r.local !== undefined)) {
      const partstat = policy.mode === 'approval' ? ('TENTATIVE' as const) : ('ACCEPTED' as const);
      const declinedOccurrences = future.filter((r) => clashing.has(r.recurrenceId)).map((r) => r.recurrenceId);
      return { answer: { delivery: 'answered', partstat, reason: 'conflict', conflicts: conflicting, declinedOccurrences }, book: free, seriesUntil, policy, farDeclined };
    }
  }
  if (conflicting.length > 0) {
    if (policy.decline_conflicts) {
      const declined = decline('conflict', conflicting);
      const slots = await freeSlots(db, req, future, conflicting[0]!, new Date(horizon));
      return { ...declined, answer: { ...declined.answer, ...slots } };
    }
    return { answer: { delivery: 'answered', partstat: 'TENTATIVE', reason: 'conflict', conflicts: conflicting }, book: [], seriesUntil: null, policy };
  }
  return { answer: { delivery: 'answered', partstat: policy.mode === 'approval' ? 'TENTATIVE' : 'ACCEPTED' }, book: future, seriesUntil, policy };
}

/**
 * What the resource would answer now, read outside the organizer's
 * transaction: the scheduler plans the organizer's final text with it and
 * checks the real answer (`answerBooking`, under the locks) against it.
 */
export async function predictBooking(db: Db, req: BookingRequest): Promise<BookingDecision> {
  const { answer, farDeclined } = await decide(db, req, false);
  return { answer, farDeclined: farDeclined ?? [] };
}

/** Decides the answer and, when it books, writes the bookings. Removes the copy's earlier bookings first. */
export async function answerBooking(trx: Db, req: BookingRequest & { copyEventId: string }): Promise<BookingDecision> {
  await releaseBookings(trx, [req.copyEventId]);
  const { answer, book, seriesUntil, policy, farDeclined = [] } = await decide(trx, req, true);
  if (book.length === 0 || !policy) return { answer, farDeclined };
  if (!(await insertBookings(trx, req.resourceId, req.copyEventId, book))) {
    return { answer: { delivery: 'answered', partstat: 'DECLINED', reason: 'conflict', conflicts: await conflictsWith(trx, req, book, policy) }, farDeclined: [] };
  }
  if (seriesUntil) await recordBookedSeries(trx, req.resourceId, req.copyEventId, seriesUntil);
  return { answer, farDeclined };
}

/**
 * Books the instances, in a savepoint: false (and nothing booked) when the
 * exclusion constraint refuses an overlap — someone booked past the checks
 * (a write that did not take the scope lock): the constraint wins.
 */
async function insertBookings(trx: Db, resourceId: string, copyEventId: string, rows: ReadonlyArray<{ recurrenceId: string; start: Date; end: Date }>): Promise<boolean> {
  try {
    await sql`savepoint resource_booking`.execute(trx);
    await trx
      .insertInto('resource_bookings')
      .values(rows.map((r) => ({ resource_id: resourceId, event_id: copyEventId, recurrence_id: r.recurrenceId, during: `[${r.start.toISOString()},${r.end.toISOString()})` })))
      .execute();
    await sql`release savepoint resource_booking`.execute(trx);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code !== '23P01') throw error;
    await sql`rollback to savepoint resource_booking`.execute(trx);
    return false;
  }
}

/**
 * An approver accepts a held request (Resource/decide): its occurrences from
 * now on, as the resource's copy indexes them (and past its index, expanded),
 * are booked — unless one now overlaps a booking (returned, named as to
 * `viewerAccountId`; nothing booked). The exclusion constraint has the last
 * word here too.
 */
export async function bookHeld(trx: Db, req: { resourceId: string; copyEventId: string; attendee: string; viewerAccountId: string; now: Date; expand: ExpandBookable }): Promise<BookingConflict[]> {
  await releaseBookings(trx, [req.copyEventId]);
  const policy = await readPolicy(trx, req.resourceId);
  if (!policy) return [];
  const rows = await trx
    .selectFrom('event_instances')
    .select(['recurrence_id', sql<Date>`lower(during)`.as('start'), sql<Date>`upper(during)`.as('end')])
    .where('event_id', '=', req.copyEventId)
    .where(sql<boolean>`status is distinct from 'CANCELLED'`)
    .where('transparent', '=', false)
    .execute();
  const copy = await trx.selectFrom('calendar_events').select(['ics', 'expanded_until', 'last_end']).where('id', '=', req.copyEventId).executeTakeFirstOrThrow();
  const windowEnd = new Date(req.now.getTime() + policy.booking_window_days * DAY_MS);
  const past = { resourceId: req.resourceId, copyEventId: req.copyEventId, ics: copy.ics!, indexUntil: copy.expanded_until, lastEnd: copy.last_end, windowEnd };
  const { far, seriesUntil } = await instancesPastIndex(trx, req.expand, past);
  const indexed = rows.map((r) => ({ recurrenceId: r.recurrence_id, start: new Date(r.start), end: new Date(r.end) }));
  // Occurrences the resource declined alone stay unbooked: near ones are free in its index already (transparent),
  // far ones (declined at booking time, or late: series-skip-answers.ts) are left out of the expansion here.
  const declinedAlone = new Set(occurrencesDeclinedBy(itipView(copy.ics!), req.attendee));
  const future = [...indexed, ...far.filter((r) => !declinedAlone.has(r.recurrenceId))].filter((r) => r.end > req.now);
  await extendAsFarAs(trx, req.expand, req.resourceId, req.copyEventId, future);
  const asked = { resourceId: req.resourceId, copyEventId: req.copyEventId, bookerAccountId: req.viewerAccountId };
  const conflicts = await conflictsWith(trx, asked, future, policy);
  if (conflicts.length > 0) return conflicts;
  if (future.length > 0 && !(await insertBookings(trx, req.resourceId, req.copyEventId, future))) return conflictsWith(trx, asked, future, policy);
  if (future.length > 0 && seriesUntil) await recordBookedSeries(trx, req.resourceId, req.copyEventId, seriesUntil);
  return [];
}

/** Other series' rows made as far as these instances reach, so the checks and the constraint see them (room-booking-reach.ts). */
async function extendAsFarAs(trx: Db, expand: ExpandBookable, resourceId: string, copyEventId: string, instances: readonly BookedInstance[]): Promise<void> {
  if (instances.length === 0) return;
  await extendBookedSeries(trx, expand, resourceId, new Date(Math.max(...instances.map((r) => r.end.getTime()))), copyEventId);
}

export async function releaseBookings(trx: Db, copyEventIds: readonly string[]): Promise<void> {
  if (copyEventIds.length === 0) return;
  await trx.deleteFrom('resource_bookings').where('event_id', 'in', [...copyEventIds]).execute();
  await forgetBookedSeries(trx, copyEventIds);
}

/**
 * When the resource is free for as long as the occurrence that meets
 * `conflict`, searching SchedulingLimits.freeNextSearchDays each way:
 * `freeNext`, the first slot from the occurrence's start on (within the
 * booking window) — its own start if that is free after all, else where some
 * booking ends; `freeEarlier`, the latest slot starting before it and not
 * before now — one that ends where some booking begins. One statement over
 * the GiST index; a slot not found is left out.
 */
async function freeSlots(
  db: Db,
  req: Pick<BookingRequest, 'resourceId' | 'copyEventId' | 'now'>,
  instances: readonly BookedInstance[],
  conflict: BookingConflict,
  windowEnd: Date,
): Promise<FreeSlots> {
  const at = instances.find((r) => r.start.getTime() < Date.parse(conflict.end) && r.end.getTime() > Date.parse(conflict.start));
  return at ? freeSlotsAround(db, req, at, windowEnd) : {};
}

/** `freeSlots` for one occurrence the resource does not take (`at`): also a late decline's (series-skip-answers.ts). */
export async function freeSlotsAround(db: Db, req: Pick<BookingRequest, 'resourceId' | 'copyEventId' | 'now'>, at: { start: Date; end: Date }, windowEnd: Date): Promise<FreeSlots> {
  const length = at.end.getTime() - at.start.getTime();
  const span = SchedulingLimits.freeNextSearchDays * DAY_MS;
  const after = { from: at.start, to: new Date(Math.min(at.start.getTime() + span, windowEnd.getTime())) };
  const before = { from: new Date(Math.max(at.start.getTime() - span, req.now.getTime())), to: new Date(at.start.getTime() + length) };
  const earlierSlot = before.from < at.start ? freeSlot(req, length, before, 'earlier') : sql`null::timestamptz`;
  const result = await sql<{ next: Date | null; earlier: Date | null }>`select (${freeSlot(req, length, after, 'next')}) as next, (${earlierSlot}) as earlier`.execute(db);
  const { next, earlier } = result.rows[0] ?? { next: null, earlier: null };
  const slot = (start: Date) => ({ start: start.toISOString(), end: new Date(start.getTime() + length).toISOString() });
  return { ...(next ? { freeNext: slot(new Date(next)) } : {}), ...(earlier ? { freeEarlier: slot(new Date(earlier)) } : {}) };
}

/**
 * The first (`next`) or the last (`earlier`) start of a free slot of `length`
 * ms inside [from, to), as a scalar subquery. A free slot begins where a
 * booking ends (or at `from`), or ends where one begins: those are the only
 * candidates.
 */
function freeSlot(req: Pick<BookingRequest, 'resourceId' | 'copyEventId'>, length: number, range: { from: Date; to: Date }, which: 'next' | 'earlier') {
  const from = range.from.toISOString();
  const to = range.to.toISOString();
  const span = sql`${length} * interval '1 millisecond'`;
  const candidates =
    which === 'next'
      ? sql`select ${from}::timestamptz union select upper(during) from resource_bookings b`
      : sql`select lower(during) - ${span} from resource_bookings b`;
  return sql<Date | null>`
    with candidate(s) as (
      ${candidates}
       where b.resource_id = ${req.resourceId} and b.event_id is distinct from ${req.copyEventId}::uuid
         and b.during && tstzrange(${from}::timestamptz, ${to}::timestamptz, '[)'))
    select s from candidate c
     where s >= ${from}::timestamptz and s + ${span} <= ${to}::timestamptz
       and not exists (select 1 from resource_bookings o
                        where o.resource_id = ${req.resourceId} and o.event_id is distinct from ${req.copyEventId}::uuid
                          and o.during && tstzrange(c.s, c.s + ${span}, '[)'))
     order by s ${which === 'next' ? sql`asc` : sql`desc`} limit 1`;
}

/** Allowed bookers: everyone of the resource's domain when the list is empty; else the listed people and members of the listed groups. */
async function mayBook(trx: Db, policy: ResourcePolicyRow, req: BookingRequest): Promise<boolean> {
  if (policy.allowed_bookers.length === 0) return req.bookerDomainId === req.domainId;
  const result = await sql<{ ok: number }>`
    with recursive me as (select id from directory_entries where account_id = ${req.bookerAccountId} and not deleted),
    up(id) as (
      select id from me
      union
      select m.group_id from directory_members m join up on m.member_id = up.id
    )
    select 1 as ok from up where id = any(${sql.val(policy.allowed_bookers)}::uuid[]) limit 1`.execute(trx);
  return result.rows.length > 0;
}

/** The recurrence ids of the instances that overlap a booking of the resource (other than this copy's). */
async function overlapping(db: Db, req: Pick<BookingRequest, 'resourceId' | 'copyEventId'>, instances: ReadonlyArray<{ recurrenceId: string; start: Date; end: Date }>): Promise<Set<string>> {
  const result = await sql<{ rid: string }>`
    select distinct w.rid from unnest(${sql.val(instances.map((r) => r.recurrenceId))}::text[], ${sql.val(instances.map((r) => r.start.toISOString()))}::timestamptz[], ${sql.val(instances.map((r) => r.end.toISOString()))}::timestamptz[]) as w(rid, s, e)
      join resource_bookings b on b.resource_id = ${req.resourceId} and b.during && tstzrange(w.s, w.e, '[)') and b.event_id is distinct from ${req.copyEventId}::uuid`.execute(db);
  return new Set(result.rows.map((r) => r.rid));
}

/**
 * Bookings of the resource overlapping the instances (other than this copy's),
 * named by time; organizer and subject only when the policy shows details
 * and the booked event is public, or when the booker organized it.
 */
async function conflictsWith(trx: Db, req: Pick<BookingRequest, 'resourceId' | 'copyEventId' | 'bookerAccountId'>, instances: ReadonlyArray<{ start: Date; end: Date }>, policy: ResourcePolicyRow): Promise<BookingConflict[]> {
  if (instances.length === 0) return [];
  const starts = instances.map((r) => r.start.toISOString());
  const ends = instances.map((r) => r.end.toISOString());
  const result = await sql<{ lower: Date; upper: Date; summary: string | null; classification: string; organizer_email: string | null; organizer_id: string | null }>`
    with wanted(during) as (select tstzrange(s, e, '[)') from unnest(${sql.val(starts)}::timestamptz[], ${sql.val(ends)}::timestamptz[]) as w(s, e))
    select distinct lower(b.during) as lower, upper(b.during) as upper, o.summary, o.classification, acc.email as organizer_email, acc.id as organizer_id
      from resource_bookings b
      join wanted w on b.during && w.during
      left join scheduled_copies sc on sc.event_id = b.event_id
      left join calendar_events o on o.id = sc.organizer_event_id
      left join calendars oc on oc.id = o.calendar_id
      left join accounts acc on acc.id = oc.account_id
     where b.resource_id = ${req.resourceId} and b.event_id is distinct from ${req.copyEventId}::uuid
     order by lower(b.during)
     limit ${MAX_CONFLICTS_NAMED}`.execute(trx);
  return result.rows.map((r) => {
    const shown = r.organizer_id === req.bookerAccountId || (policy.conflict_details && isPublic(r.classification));
    return {
      start: new Date(r.lower).toISOString(),
      end: new Date(r.upper).toISOString(),
      ...(shown && r.organizer_email ? { organizer: r.organizer_email } : {}),
      ...(shown && r.summary ? { summary: r.summary } : {}),
    };
  });
}
