import type { CalendarEventService } from '../calendar/event.service.ts';
import { workOwner } from '../calendar/ical-work/pool.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { MaintenanceJob } from '../maintenance.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { busPublisher, NothingChanged, writeScopes } from '../sync/scope-write.ts';
import { freeSlotsAround, readPolicy } from './room-booking.ts';
import { Replan, Schedule } from './scheduler.ts';
import { findLiveEvent, linksOfCopies } from './scheduling.repository.ts';
import { SchedulingLimits } from './scheduling-limits.ts';
import { claimDueSkips, deleteSkip, findSkip, markSkipRetry, type SkipRow } from './series-skips.repository.ts';

const DAY_MS = 86_400_000;

/**
 * The resource's answer to the instances its series' rows skipped
 * (docs/decisions.md, "Two endless series meeting late"). Two series without
 * an end that first meet beyond what was compared when the later one was
 * booked meet when a third request extends both (room-booking-reach.ts): the
 * earlier keeps the time, the later one's instance is not booked, and a
 * `resource_series_skips` row says so, written in that request's transaction
 * — which holds the resource's scope lock but not the later series'
 * organizer's and attendees' (taking them there would break the one sorted
 * lock order). This job answers each skip as the resource in its own
 * transaction, exactly as a resource declines one occurrence itself
 * (Schedule.answer, as Resource/decide does): the scopes of the resource's
 * calendar, the organizer's calendar and inbox and every other copy's
 * calendar are bumped in one sorted step; under them the skip is read again
 * (answered meanwhile, or its copy's bookings released: nothing to do); the
 * occurrence becomes an override with the resource DECLINED in every copy
 * (spreadAnswer), the organizer gets a `reply` from the resource with when
 * it is free instead, and the skip row goes — all in one transaction, so a
 * skip is answered once, whichever node takes it, and one left by a node
 * that died is answered by another when its lease runs out.
 *
 * Every node runs it (a MaintenanceJob). A failed answer is retried after
 * skipRetryBaseMs × 2^(attempt−1), at most skipRetryMaxMs. An occurrence
 * that has passed meanwhile is dropped unanswered.
 */
export class SeriesSkipAnswers {
  /** Passes on this node run one after another: `runOnce` returns when everything due at its call was tried. */
  private last: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly options: {
      db: Db;
      bus: Pick<ClusterBus, 'publish'>;
      events: Pick<CalendarEventService, 'prepare' | 'clock' | 'expandBookable'>;
      log: Logger;
      node: string;
      invitationCopiesPerMinute: number;
    },
  ) {}

  /** The job every node runs, each `intervalMs` (DMCI_ROOM_SKIP_POLL_MS). */
  job(intervalMs: number): MaintenanceJob {
    return {
      name: 'resource-series-skips',
      intervalMs,
      run: async () => {
        await this.runOnce();
      },
    };
  }

  /** One pass: claims the due skips (a batch at a time) and answers each. Returns how many it claimed. Tests drive it directly. */
  runOnce(): Promise<number> {
    const run = this.last.then(() => this.pass());
    this.last = run.catch(() => undefined);
    return run;
  }

  private async pass(): Promise<number> {
    const { db, node, log } = this.options;
    let claimed = 0;
    for (;;) {
      const skips = await claimDueSkips(db, node, SchedulingLimits.skipAnswerLeaseMs, SchedulingLimits.skipAnswerBatch);
      claimed += skips.length;
      for (const skip of skips) {
        const about = { skipId: skip.id, copyId: skip.event_id, recurrenceId: skip.recurrence_id, attempt: skip.attempts };
        try {
          const outcome = await this.answer(skip);
          log.info({ ...about, outcome }, 'resource answered an occurrence its series could not book');
        } catch (error) {
          const delay = Math.min(SchedulingLimits.skipRetryMaxMs, SchedulingLimits.skipRetryBaseMs * 2 ** Math.min(30, skip.attempts - 1));
          await markSkipRetry(db, skip.id, node, delay, (error as Error).message ?? String(error));
          log.warn({ ...about, err: error, retryInMs: delay }, 'resource answer to a skipped occurrence failed, will retry');
        }
      }
      if (skips.length < SchedulingLimits.skipAnswerBatch) return claimed;
    }
  }

  /** Answers one skip as the resource (see the class comment); what became of it. */
  private async answer(claimed: SkipRow): Promise<'declined' | 'gone' | 'passed' | 'refused'> {
    const { db, events } = this.options;
    const now = events.clock();
    const copy = await findLiveEvent(db, claimed.event_id);
    const link = (await linksOfCopies(db, [claimed.event_id])).get(claimed.event_id);
    const dropped = !copy || !link ? ('gone' as const) : new Date(claimed.end) <= now ? ('passed' as const) : undefined;
    if (dropped || !copy) {
      await deleteSkip(db, claimed.id);
      return dropped ?? 'gone';
    }
    const reply = { partstat: 'DECLINED', recurrenceId: claimed.recurrence_id };
    const times = new Map([[claimed.recurrence_id, { startLocal: claimed.start_local, endLocal: claimed.end_local, allDay: claimed.all_day }]]);
    for (let attempt = 0; ; attempt++) {
      const schedule = await Schedule.open(db, {
        calendarId: copy.calendar_id,
        ownerId: null,
        ownerDomainId: null,
        creates: new Map(),
        updates: new Map(),
        destroys: [],
        replies: new Map([[copy.id, reply]]),
        counters: new Map(),
        declineCounters: new Map(),
        now,
        prepare: (texts) => events.prepare(texts, now, workOwner.server),
        expandBookable: events.expandBookable(workOwner.server),
        sentBy: null,
        planUnderLocks: attempt + 1 >= SchedulingLimits.maxReplans,
        invitationCopiesPerMinute: this.options.invitationCopiesPerMinute,
        approvingFor: [],
        occurrenceTimes: times,
      });
      const scope = calendarScope(copy.calendar_id);
      const extra = await schedule.scopes(db);
      try {
        return await writeScopes(
          db,
          busPublisher(this.options.bus),
          async (writer) => {
            const trx = writer.trx;
            const modseqs = await schedule.lockAsResource(writer, scope, extra);
            // Under the locks: still to answer (another node may have; a re-asked or cancelled copy has no skips left).
            const skip = await findSkip(trx, claimed.id);
            if (!skip) throw new NothingChanged();
            await deleteSkip(trx, skip.id);
            const current = await findLiveEvent(trx, claimed.event_id);
            const currentLink = (await linksOfCopies(trx, [claimed.event_id])).get(claimed.event_id);
            if (!current || !currentLink) return 'gone' as const;
            const policy = await readPolicy(trx, skip.resource_id);
            const windowEnd = new Date(now.getTime() + (policy?.booking_window_days ?? 0) * DAY_MS);
            const at = { start: new Date(skip.start), end: new Date(skip.end) };
            const slots = await freeSlotsAround(trx, { resourceId: skip.resource_id, copyEventId: current.id, now }, at, windowEnd);
            const answered = await schedule.answer(trx, modseqs, current, currentLink, { reply }, slots);
            // Refused (the occurrence is no longer in the series): nothing to answer; the skip goes all the same.
            return 'code' in answered ? ('refused' as const) : ('declined' as const);
          },
          () => 'gone' as const,
        );
      } catch (error) {
        if (!(error instanceof Replan) || attempt + 1 >= SchedulingLimits.maxReplans) throw error;
      }
    }
  }
}
