import { ErrorCode, type CalendarEvent, type MethodArgs, type MethodResult, type ScheduleOutcome, type SetError } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import { DmciError, forbidden } from '../errors.ts';
import { calendarScope } from '../sync/scope-id.ts';
import { busPublisher, NothingChanged, writeScopes } from '../sync/scope-write.ts';
import { decodeState, encodeState } from '../sync/state-token.ts';
import { MissingScope, readScope } from '../sync/sync-scope.repository.ts';
import { EVENT_READ, requireAccess, requireAccesses, type CalendarAccess } from './calendar-access.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { eventChanges } from './event-changes.ts';
import { columnsOf } from './event-columns.ts';
import { queryInstances } from './event-query.ts';
import { levelOf, opaqueUid, renderEvent } from './privacy/index.ts';
import {
  findEventByIdempotencyKey,
  findLiveEventByUid,
  findLiveEvents,
  tombstoneEvent,
  updateEvent,
} from './event.repository.ts';
import { defaultIcalLimits, type IcalLimits } from './ical/index.ts';
import { workOwner, type IcalWorkerPool } from './ical-work/pool.ts';
import type { ExpandedEvent, PreparedWrite } from './ical-work/tasks.ts';
import type { CalendarEventRow } from './event.table.ts';
import { insertIndexedEvent, writeIndex } from './instance-index.ts';
import { StorageLedger, storedBytes } from '../quota/storage-ledger.ts';
import { deleteInstances } from './instance.repository.ts';
import { Replan, Schedule } from '../scheduling/scheduler.ts';
import type { CopyLink } from '../scheduling/scheduling.repository.ts';
import { SchedulingLimits } from '../scheduling/scheduling-limits.ts';
import type { ImipOut } from '../imip/imip-out.ts';
import type { ExpandedInstance, ExpandBookable } from '../scheduling/room-booking-reach.ts';
import type { IndexPlan } from './index-plan.ts';

export interface CalendarEventServiceOptions {
  db: Db;
  bus: Pick<ClusterBus, 'publish'>;
  /** How far ahead recurring events are indexed at write time (DMCI_INSTANCE_HORIZON_DAYS). */
  horizonDays: number;
  icalLimits?: IcalLimits;
  /** Where objects are parsed and their index planned: worker threads, off the event loop. */
  icalWork: Pick<IcalWorkerPool, 'run'>;
  /** Storage quota of an account without its own (DMCI_STORAGE_QUOTA_BYTES). */
  storageQuotaBytes: number;
  /** iMIP out (server/imip/): set when DMCI_SMTP_URL is; scheduling queues mail to people outside the server through it. */
  imip?: ImipOut | undefined;
  /** Attendee copies an organizer may write per minute (DMCI_INVITATION_COPIES_PER_MINUTE). */
  invitationCopiesPerMinute: number;
}


/**
 * Events: reads, writes and the change log (DESIGN §4, §5).
 *
 * CalendarEvent/set runs in ONE transaction per call. Its first statement
 * bumps the calendar's scope (`cal:<id>`), whose row lock serialises every
 * writer of the calendar until commit, so all checks made after it
 * (ifInState, UID uniqueness, versions, idempotency keys) are race-free.
 * Objects that fail a check are reported per object and the others commit
 * together, stamped with the one new modseq; if none changed, the
 * transaction rolls back and the state does not move. The push hint goes out
 * after COMMIT, never inside the transaction.
 */
export class CalendarEventService {
  /** The clock the window sync and the index horizon use; tests may replace it. */
  clock: () => Date = () => new Date();
  readonly limits: IcalLimits;

  constructor(private readonly options: CalendarEventServiceOptions) {
    this.limits = options.icalLimits ?? defaultIcalLimits;
  }

  get db(): Db {
    return this.options.db;
  }

  get horizonDays(): number {
    return this.options.horizonDays;
  }

  async get(actor: Actor, args: MethodArgs<'CalendarEvent/get'>): Promise<MethodResult<'CalendarEvent/get'>> {
    const accountId = accountOf(actor);
    const access = await requireAccess(this.db, args.calendarId, accountId, EVENT_READ);
    const rows = new Map((await findLiveEvents(this.db, args.calendarId, args.ids)).map((row) => [row.id, row]));
    const state = await readScope(this.db, calendarScope(args.calendarId));
    const list: CalendarEvent[] = [];
    const notFound: string[] = [];
    // In the order asked; the list ends early before the event that would pass maxAnswerBytes.
    const bytes = new AnswerBudget();
    let hasMore = false;
    for (const id of new Set(args.ids)) {
      const row = rows.get(id);
      const event = row ? renderEvent(row, access.lens) : null;
      if (!event) {
        notFound.push(id);
        continue;
      }
      if (!bytes.fits(event)) {
        hasMore = true;
        break;
      }
      list.push(event);
    }
    return { calendarId: args.calendarId, state: encodeState(state?.modseq ?? 0), list, notFound, hasMore };
  }

  async changes(actor: Actor, args: MethodArgs<'CalendarEvent/changes'>): Promise<MethodResult<'CalendarEvent/changes'>> {
    const accountId = accountOf(actor);
    const access = await requireAccess(this.db, args.calendarId, accountId, EVENT_READ);
    return eventChanges(this, access, args, workOwner.account(accountId));
  }

  async query(actor: Actor, args: MethodArgs<'CalendarEvent/query'>): Promise<MethodResult<'CalendarEvent/query'>> {
    const accountId = accountOf(actor);
    return queryInstances(this, await requireAccesses(this.db, args.calendarIds, accountId, EVENT_READ), args, workOwner.account(accountId));
  }

  async set(actor: Actor, args: MethodArgs<'CalendarEvent/set'>): Promise<MethodResult<'CalendarEvent/set'>> {
    const { calendarId } = args;
    const accountId = accountOf(actor);
    // Set once the right was checked inside the transaction.
    let access: CalendarAccess | undefined;
    // You cannot change what you cannot see: an object only for those who see all of it in full.
    const hidden = (row: { classification: string }) => levelOf(access!.lens, row.classification) !== 'full';
    const hiddenError = (id: string): SetError => ({ code: ErrorCode.FORBIDDEN, message: `event ${id} is private: only the owner and delegates with private access may change it` });
    const creates = Object.entries(args.create ?? {});
    const updates = Object.entries(args.update ?? {});
    const destroys = (args.destroy ?? []).map((d) => (typeof d === 'string' ? { id: d, ifVersion: undefined } : d));
    const total = creates.length + updates.length + destroys.length + Object.keys(args.reply ?? {}).length + Object.keys(args.counter ?? {}).length + Object.keys(args.declineCounter ?? {}).length;
    if (total > CalendarLimits.maxObjectsInSet) {
      throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `at most ${CalendarLimits.maxObjectsInSet} objects per CalendarEvent/set`, { details: { limit: CalendarLimits.maxObjectsInSet } });
    }
    const ifInState = args.ifInState === undefined ? undefined : decodeState(args.ifInState);
    // Checked once before parsing too, so a caller without the right costs no worker time; the check that counts is inside the transaction.
    const before = await requireAccess(this.db, calendarId, accountId, 'write');
    const replies = new Map(Object.entries(args.reply ?? {}));
    const counters = new Map(Object.entries(args.counter ?? {}));
    const declineCounters = new Map(Object.entries(args.declineCounter ?? {}));

    // Parsing and index planning are pure CPU: done in a worker thread (ical-work/), so a hostile object
    // stalls no other session, and before the transaction, so the scope lock is held briefly.
    const now = this.clock();
    // In the writer's turn of the pool (per-account fairness): a flood of heavy writes from one account delays only its own.
    const owner = workOwner.account(accountId);
    const prepared = await this.prepare([...creates.map(([, value]) => value.ics), ...updates.map(([, value]) => value.ics)], now, owner);
    const parsedCreates = new Map(creates.map(([key], i) => [key, prepared[i]!]));
    const parsedUpdates = new Map(updates.map(([id], i) => [id, prepared[creates.length + i]!]));

    // Implicit scheduling (server/scheduling/): who the attendees are and which scopes their copies and inboxes live in.
    const sentBy = (access: CalendarAccess) => (access.right === 'owner' || actor.kind !== 'account' ? null : actor.email);
    const openSchedule = (attempt: number) =>
      Schedule.open(this.db, {
        calendarId,
        ownerId: before.calendar.account_id,
        ownerDomainId: before.calendar.owner_domain_id,
        creates: parsedCreates,
        updates: parsedUpdates,
        destroys: destroys.map((d) => d.id),
        replies,
        counters,
        declineCounters,
        now,
        prepare: (texts) => this.prepare(texts, now, owner),
        expandBookable: this.expandBookable(owner),
        imip: this.options.imip,
        sentBy: sentBy(before),
        planUnderLocks: attempt + 1 >= SchedulingLimits.maxReplans,
        invitationCopiesPerMinute: this.options.invitationCopiesPerMinute,
        approvingFor: [],
      });
    let schedule = await openSchedule(0);
    const scope = calendarScope(calendarId);

    for (let attempt = 0; ; attempt++) {
      const extra = await schedule.scopes(this.db);
      const result = emptySetResult(calendarId);
      const scheduled: Record<string, Record<string, ScheduleOutcome>> = {};
      try {
        const committed = await writeScopes<number | undefined>(
          this.db,
          busPublisher(this.options.bus),
          async (writer) => {
            const trx = writer.trx;
            // FIRST: takes the scope locks until commit, the calendar's and every scope scheduling writes, in one sorted step.
            // A calendar destroyed meanwhile has no scope row left.
            const modseqs = await writer.bumpAll([scope, ...extra]).catch((error: unknown) => {
              if (error instanceof MissingScope && error.scope === scope) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
              if (error instanceof MissingScope) throw new Replan(error.scope);
              throw error;
            });
            const modseq = modseqs.get(scope)!;
            // The right is checked here, under the scope lock every revoke also takes: a revoke that committed first wins.
            access = await requireAccess(trx, calendarId, accountId, 'write');
            if (ifInState !== undefined && ifInState !== modseq - 1) {
              throw new DmciError(ErrorCode.STATE_MISMATCH, `the calendar is at state ${modseq - 1}, not ${ifInState}`, { details: { currentState: encodeState(modseq - 1) } });
            }
            await schedule.check(trx, modseqs);
            // Only the owner, or a delegate acting for them (named in SENT-BY), sends invitations and answers them.
            const schedules = access.right === 'owner' || access.delegate;
            schedule.sentBy = sentBy(access);
            const notScheduler = (id: string): SetError => ({ code: ErrorCode.FORBIDDEN, message: `event ${id} schedules a meeting: only the calendar's owner or their delegate may send or answer it` });
            // Second: the owner's storage row, so this write and any other to the owner's calendars cannot both pass the quota,
            // with the rows of the attendees whose copies it writes (one sorted step: no deadlock between two such writes).
            const ledgers = await StorageLedger.openMany(trx, [access.calendar.account_id, ...schedule.chargedAccounts()], this.options.storageQuotaBytes);
            const storage = ledgers.get(access.calendar.account_id)!;
            schedule.useLedgers(ledgers);
            let changed = 0;

            for (const [key, value] of creates) {
              const parsed = parsedCreates.get(key)!;
              if (value.idempotencyKey) {
                const earlier = await findEventByIdempotencyKey(trx, calendarId, value.idempotencyKey);
                if (earlier) {
                  // A retry of a create that committed: the original answer, no duplicate. Keys are per
                  // calendar, so the caller may not be the creator: the UID as this caller sees it.
                  result.created[key] = { id: earlier.id, uid: hidden(earlier) ? opaqueUid(earlier.id) : earlier.uid, version: 1 };
                  continue;
                }
              }
              if (!parsed.ok) {
                result.notCreated[key] = parsed.error;
                continue;
              }
              const refusal = schedule.refusal(key);
              if (refusal) {
                result.notCreated[key] = refusal;
                continue;
              }
              if (await findLiveEventByUid(trx, calendarId, parsed.obj.uid)) {
                result.notCreated[key] = { code: ErrorCode.ALREADY_EXISTS, message: `an event with UID ${parsed.obj.uid} already exists in this calendar` };
                continue;
              }
              const columns = columnsOf(parsed.obj);
              const overQuota = storage.admit(storedBytes(columns.ics));
              if (overQuota) {
                result.notCreated[key] = overQuota;
                continue;
              }
              const insert = async (ics: string) => {
                // The scheduler's edits (SEQUENCE, PARTSTATs, SENT-BY) change the size a little: charge what is stored.
                storage.admit(storedBytes(ics) - storedBytes(columns.ics));
                const row = await insertIndexedEvent(trx, calendarId, modseq, { ...columns, ics }, parsed.index, value.idempotencyKey ?? null);
                result.created[key] = { id: row.id, uid: row.uid, version: row.version };
                return row.id;
              };
              if (!schedule.isOrganizerWrite(key)) await insert(columns.ics);
              else if (!schedules) {
                result.notCreated[key] = notScheduler(key);
                continue;
              } else {
                const limited = await schedule.admitInvitations(trx, key);
                if (limited) {
                  storage.charge(-storedBytes(columns.ics));
                  result.notCreated[key] = limited;
                  continue;
                }
                const outcomes = await schedule.organizerWrite(trx, modseqs, key, parsed, null, insert);
                scheduled[result.created[key]!.id] = outcomes;
              }
              changed++;
            }

            const live = new Map(
              (await findLiveEvents(trx, calendarId, [...updates.map(([id]) => id), ...destroys.map((d) => d.id), ...replies.keys(), ...counters.keys(), ...declineCounters.keys()])).map((r) => [
                r.id,
                r,
              ]),
            );
            for (const [id, value] of updates) {
              const parsed = parsedUpdates.get(id)!;
              const row = live.get(id);
              if (!row) result.notUpdated[id] = { code: ErrorCode.NOT_FOUND, message: `event ${id} not found` };
              else if (hidden(row)) result.notUpdated[id] = hiddenError(id);
              else if (value.ifVersion !== undefined && value.ifVersion !== row.version) result.notUpdated[id] = versionMismatch(row.version, value.ifVersion);
              else if (!parsed.ok) result.notUpdated[id] = parsed.error;
              else if (parsed.obj.uid !== row.uid) result.notUpdated[id] = { code: ErrorCode.INVALID_ICALENDAR, message: `the UID of an event cannot change (is ${row.uid})` };
              else if (schedule.refusal(id)) result.notUpdated[id] = schedule.refusal(id)!;
              else {
                const link = await schedule.linkOf(trx, id);
                if (link) {
                  // The calendar holds an attendee's copy: this write is their answer (the scheduler charges
                  // the copy's change to the attendee, never refusing it: docs/protocol.md §Scheduling).
                  const answer = schedules ? await schedule.answer(trx, modseqs, row, link, { written: parsed }) : notScheduler(id);
                  if ('code' in answer) result.notUpdated[id] = answer;
                  else {
                    result.updated[id] = { version: answer.version };
                    changed++;
                  }
                  continue;
                }
                const overQuota = storage.admit(storedBytes(parsed.obj.text) - storedBytes(row.ics));
                if (overQuota) {
                  result.notUpdated[id] = overQuota;
                  continue;
                }
                const columns = columnsOf(parsed.obj);
                const update = async (ics: string) => {
                  storage.admit(storedBytes(ics) - storedBytes(columns.ics));
                  const bounds = await writeIndex(trx, calendarId, id, parsed.index);
                  const version = await updateEvent(trx, id, modseq, { ...columns, ics, expanded_from: bounds.from, expanded_until: bounds.until });
                  result.updated[id] = { version };
                  return id;
                };
                if (schedule.isOrganizerWrite(id)) {
                  const refused = schedules ? await schedule.admitInvitations(trx, id) : notScheduler(id);
                  if (refused) {
                    // Undoes what was admitted above (never refused: it returns the ledger to where it was).
                    storage.charge(storedBytes(row.ics) - storedBytes(parsed.obj.text));
                    result.notUpdated[id] = refused;
                    continue;
                  }
                  scheduled[id] = await schedule.organizerWrite(trx, modseqs, id, parsed, row, update);
                } else {
                  // An event that scheduled and now invites nobody: every copy is cancelled.
                  const cancelled = schedules ? await schedule.organizerCancel(trx, modseqs, row) : undefined;
                  if (cancelled) scheduled[id] = cancelled;
                  if (schedules && access.calendar.account_id) await this.options.imip?.attendeeWrite(trx, { ownerId: access.calendar.account_id, old: row, after: columns.ics, now });
                  await update(columns.ics);
                }
                changed++;
              }
            }

            for (const { id, ifVersion } of destroys) {
              const row = live.get(id);
              if (!row || result.destroyed.includes(id)) result.notDestroyed[id] = { code: ErrorCode.NOT_FOUND, message: `event ${id} not found` };
              else if (hidden(row)) result.notDestroyed[id] = hiddenError(id);
              else if (ifVersion !== undefined && ifVersion !== row.version) result.notDestroyed[id] = versionMismatch(row.version, ifVersion);
              else {
                const link = await schedule.linkOf(trx, id);
                if (link) {
                  // An attendee removing their copy declines (RFC 6638 §3.2.2.4).
                  const answer = schedules ? await schedule.answer(trx, modseqs, row, link, { destroyed: true }) : notScheduler(id);
                  if ('code' in answer) {
                    result.notDestroyed[id] = answer;
                    continue;
                  }
                } else {
                  const cancelled = schedules ? await schedule.organizerCancel(trx, modseqs, row) : undefined;
                  if (cancelled) scheduled[id] = cancelled;
                  if (schedules && access.calendar.account_id) await this.options.imip?.attendeeWrite(trx, { ownerId: access.calendar.account_id, old: row, after: null, now });
                  await deleteInstances(trx, id);
                  await tombstoneEvent(trx, id, modseq);
                  storage.admit(-storedBytes(row.ics));
                }
                result.destroyed.push(id);
                changed++;
              }
            }

            // Answers, proposals and declined proposals: each reported in replied / notReplied.
            const noInvitation = (id: string): SetError => ({ code: ErrorCode.NOT_FOUND, message: `no invitation ${id} in this calendar` });
            const answerEach = async <T>(entries: ReadonlyMap<string, T>, answer: (row: CalendarEventRow, value: T) => Promise<SetError | { version: number }>) => {
              for (const [id, value] of entries) {
                const row = live.get(id);
                const outcome = !row || hidden(row) ? noInvitation(id) : schedules ? await answer(row, value) : notScheduler(id);
                if ('code' in outcome) (result.notReplied ??= {})[id] = outcome;
                else {
                  (result.replied ??= {})[id] = { version: outcome.version };
                  changed++;
                }
              }
            };
            const asAttendee = (then: (row: CalendarEventRow, link: CopyLink) => Promise<SetError | { version: number }>, unlinked?: (row: CalendarEventRow) => Promise<SetError | { version: number } | undefined>) => async (row: CalendarEventRow) => {
              const link = await schedule.linkOf(trx, row.id);
              return link ? then(row, link) : ((await unlinked?.(row)) ?? noInvitation(row.id));
            };
            // No link: an invitation from an organizer outside the server answers by iMIP (Schedule.answerOutside).
            await answerEach(replies, (row, reply) => asAttendee((r, link) => schedule.answer(trx, modseqs, r, link, { reply }), (r) => schedule.answerOutside(trx, modseqs, r, reply))(row));
            const calendarOwner = access.calendar.account_id;
            await answerEach(counters, async (row, proposal) =>
              // A meeting an outside organizer sent (no copy link): the proposal goes out by iMIP.
              calendarOwner && (await this.options.imip?.attendeeCounter(trx, { ownerId: calendarOwner, row, proposal, now })) ? { version: row.version } : asAttendee((r, link) => schedule.counter(trx, modseqs, r, link, proposal))(row),
            );
            await answerEach(declineCounters, (row, decline) => schedule.declineCounter(trx, modseqs, row, decline));
            if (changed === 0) throw new NothingChanged();
            await StorageLedger.commitAll(trx, ledgers.values());
            return modseq;
          },
          () => undefined,
        );
        if (Object.keys(scheduled).length > 0) result.scheduled = scheduled;
        return await this.finishSet(result, committed, scope);
      } catch (error) {
        if (!(error instanceof Replan) || attempt + 1 >= SchedulingLimits.maxReplans) throw error;
        schedule = await openSchedule(attempt + 1);
      }
    }
  }

  private async finishSet(result: MethodResult<'CalendarEvent/set'>, committed: number | undefined, scope: string): Promise<MethodResult<'CalendarEvent/set'>> {
    if (committed !== undefined) {
      result.oldState = encodeState(committed - 1);
      result.newState = encodeState(committed);
    } else {
      const state = encodeState((await readScope(this.db, scope))?.modseq ?? 0);
      result.oldState = state;
      result.newState = state;
    }
    return result;
  }

  /**
   * Instances overlapping [from, to) that the events' occurrence index does
   * not hold, expanded in the worker pool (off the event loop) within one
   * read's work budget: what CalendarEvent/query and window sync merge in.
   * `owner` (workOwner) is whose turn of the pool it takes.
   */
  expandUnindexed(owner: string, events: readonly CalendarEventRow[], from: Date, to: Date, limits: IcalLimits = this.limits): Promise<ExpandedEvent[]> {
    if (events.length === 0) return Promise.resolve([]);
    return this.options.icalWork.run('expandUnindexed', {
      events: events.map((event) => ({ ics: event.ics!, bounds: { from: event.expanded_from, until: event.expanded_until } })),
      from,
      to,
      limits,
      maxStepsPerRequest: CalendarLimits.maxExpansionStepsPerRequest,
    }, owner);
  }

  /**
   * Instances of a stored text starting in [from, to) that book time (not
   * cancelled, not transparent), expanded in the worker pool window by window
   * (each charged on its own, as the index is): what room bookings past the
   * occurrence index need (scheduling/room-booking-reach.ts).
   */
  expandBookable(owner: string): ExpandBookable {
    return async (ics, from, to) => {
      const out: ExpandedInstance[] = [];
      for (let cursor: Date | null = from; cursor !== null && cursor < to; ) {
        const plan: IndexPlan = await this.options.icalWork.run('extendIndex', { ics, from: cursor, horizon: to, limits: this.limits, maxRows: CalendarLimits.maxIndexedInstancesPerEvent }, owner);
        for (const r of plan.rows) if (r.status !== 'CANCELLED' && !r.transparent) out.push({ recurrenceId: r.recurrenceId, start: r.start, end: r.end, local: { startLocal: r.startLocal, endLocal: r.endLocal, allDay: r.allDay } });
        cursor = plan.expandedUntil;
      }
      return out;
    };
  }

  /** Parses and plans every object of one /set within the request's work budget (per-object refusals stay per object). */
  async prepare(texts: string[], now: Date, owner: string): Promise<PreparedWrite[]> {
    if (texts.length === 0) return [];
    const { results } = await this.options.icalWork.run('prepareWrites', {
      texts,
      limits: this.limits,
      maxStepsPerRequest: CalendarLimits.maxExpansionStepsPerRequest,
      now: now.getTime(),
      horizonDays: this.horizonDays,
    }, owner);
    return results;
  }
}

function emptySetResult(calendarId: string): MethodResult<'CalendarEvent/set'> {
  return { calendarId, oldState: '', newState: '', created: {}, updated: {}, destroyed: [], notCreated: {}, notUpdated: {}, notDestroyed: {} };
}

function versionMismatch(current: number, expected: number): SetError {
  return { code: ErrorCode.VERSION_MISMATCH, message: `the event is at version ${current}, not ${expected}`, details: { currentVersion: current } };
}

export function accountOf(actor: Actor): string {
  if (actor.kind !== 'account') throw forbidden('calendars belong to accounts; the system actor has none');
  return actor.accountId;
}
