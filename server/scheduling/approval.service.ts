import { sql } from 'kysely';
import { ErrorCode, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import type { CalendarEventService } from '../calendar/event.service.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import { workOwner } from '../calendar/ical-work/pool.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import { DmciError, forbidden, notFound } from '../errors.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { busPublisher, writeScopes } from '../sync/scope-write.ts';
import { itipView } from './itip.ts';
import { bookHeld, releaseBookings } from './room-booking.ts';
import { Replan, Schedule } from './scheduler.ts';
import type { CopyLink } from './scheduling.repository.ts';
import { SchedulingLimits } from './scheduling-limits.ts';

type Held = { copy: CalendarEventRow; link: CopyLink; resourceId: string };

/**
 * The approver workflow of resources in `approval` mode (docs/protocol.md
 * §Rooms): a request the resource holds (answered TENTATIVE, booked) is
 * accepted or declined by one of the resource's approvers. It is the
 * resource answering, as an attendee answers (Schedule.answer): the
 * resource's copy and the organizer's copy take the PARTSTAT, the organizer's
 * inbox gets a `reply` from the resource, and every approver's `approval`
 * message about it is dismissed — all in one transaction under the scope
 * locks of the resource's calendar, the organizer's calendar and the inboxes.
 * Accepting books the occurrences again, so an acceptance that would now
 * overlap a booking is refused (BOOKING_CONFLICT); the exclusion constraint
 * has the last word. Declining an ACCEPTED booking revokes it the same way
 * (released, DECLINED, a reply in the organizer's inbox).
 */
export class ResourceApprovalService {
  constructor(
    private readonly db: Db,
    private readonly bus: Pick<ClusterBus, 'publish'>,
    private readonly events: Pick<CalendarEventService, 'prepare' | 'clock' | 'expandBookable'>,
    private readonly invitationCopiesPerMinute: number,
  ) {}

  async decide(actor: Actor, args: MethodArgs<'Resource/decide'>): Promise<MethodResult<'Resource/decide'>> {
    if (actor.kind !== 'account') throw forbidden('only an approver (an account) decides held requests');
    const approver = actor.accountId;
    const partstat = args.decision === 'accept' ? 'ACCEPTED' : 'DECLINED';
    const nothingHeld = () => notFound(`held request ${args.eventId}`);
    // Declining also revokes an accepted booking; accepting needs a request still held.
    const decidable = partstat === 'ACCEPTED' ? HELD : HELD_OR_ACCEPTED;
    const found = await heldRequest(this.db, args.eventId, approver, decidable);
    if (!found) throw nothingHeld();
    const now = this.events.clock();
    for (let attempt = 0; ; attempt++) {
      const schedule = await Schedule.open(this.db, {
        calendarId: found.copy.calendar_id,
        ownerId: null,
        ownerDomainId: null,
        creates: new Map(),
        updates: new Map(),
        destroys: [],
        replies: new Map([[args.eventId, { partstat }]]),
        counters: new Map(),
        declineCounters: new Map(),
        now,
        prepare: (texts) => this.events.prepare(texts, now, workOwner.account(approver)),
        expandBookable: this.events.expandBookable(workOwner.account(approver)),
        sentBy: null,
        planUnderLocks: attempt + 1 >= SchedulingLimits.maxReplans,
        invitationCopiesPerMinute: this.invitationCopiesPerMinute,
        approvingFor: [found.resourceId],
      });
      const scope = calendarScope(found.copy.calendar_id);
      const extra = await schedule.scopes(this.db);
      try {
        await writeScopes(
          this.db,
          busPublisher(this.bus),
          async (writer) => {
            const trx = writer.trx;
            const modseqs = await schedule.lockAsResource(writer, scope, extra);
            // Under the locks: still an approver, and the request still held.
            const held = await heldRequest(trx, args.eventId, approver, decidable);
            if (!held) throw nothingHeld();
            if (partstat === 'ACCEPTED') {
              const conflicts = await bookHeld(trx, { resourceId: held.resourceId, copyEventId: held.copy.id, attendee: held.link.attendee, viewerAccountId: approver, now, expand: this.events.expandBookable(workOwner.account(approver)) });
              if (conflicts.length > 0) {
                throw new DmciError(ErrorCode.BOOKING_CONFLICT, 'the request now overlaps a booking of the resource: decline it, or free that time first', { details: { conflicts } });
              }
            } else await releaseBookings(trx, [held.copy.id]);
            const answered = await schedule.answer(trx, modseqs, held.copy, held.link, { reply: { partstat } });
            if ('code' in answered) throw new DmciError(answered.code as ErrorCode, answered.message, answered.details ? { details: answered.details } : {});
            await schedule.dismissApprovalsOf(trx, modseqs, [{ resourceId: held.resourceId, copyId: held.copy.id }]);
            return modseqs.get(scope)!;
          },
          () => undefined,
        );
        return { eventId: args.eventId, partstat };
      } catch (error) {
        if (!(error instanceof Replan) || attempt + 1 >= SchedulingLimits.maxReplans) throw error;
      }
    }
  }
}

const HELD: ReadonlySet<string> = new Set(['TENTATIVE']);
const HELD_OR_ACCEPTED: ReadonlySet<string> = new Set(['TENTATIVE', 'ACCEPTED']);

/**
 * A resource's copy that `approver` may decide: live, linked to an
 * organizer's event, of a resource whose policy names the approver, and
 * with the resource's PARTSTAT in it one of `partstats` (held: TENTATIVE;
 * a revoke also takes an ACCEPTED one). Anything else looks alike to the
 * caller (NOT_FOUND): who approves what is not disclosed.
 */
async function heldRequest(db: Db, eventId: string, approver: string, partstats: ReadonlySet<string>): Promise<Held | undefined> {
  const row = await db
    .selectFrom('calendar_events as e')
    .innerJoin('calendars as c', 'c.id', 'e.calendar_id')
    .innerJoin('scheduled_copies as sc', 'sc.event_id', 'e.id')
    .innerJoin('resource_policies as p', 'p.resource_id', 'c.resource_id')
    .selectAll('e')
    .select(['c.resource_id', 'sc.organizer_event_id', 'sc.organizer_calendar_id', 'sc.attendee'])
    .where('e.id', '=', eventId)
    .where('e.deleted', '=', false)
    .where(sql<boolean>`exists (select 1 from directory_entries d where d.id = any(p.approvers) and d.account_id = ${approver} and not d.deleted)`)
    .executeTakeFirst();
  if (!row?.ics || !row.resource_id) return undefined;
  const { resource_id, organizer_event_id, organizer_calendar_id, attendee, ...copy } = row;
  if (!partstats.has(itipView(row.ics).components.get('')?.attendees.get(attendee)?.partstat ?? '')) return undefined;
  return { copy, link: { event_id: copy.id, organizer_event_id, organizer_calendar_id, attendee }, resourceId: resource_id };
}
