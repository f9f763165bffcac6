import { ErrorCode, type ScheduleOutcome, type SetError } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import { findLiveEvents, liveEventIdsByUid, storedBytesOf, tombstoneEvent, tombstoneEvents, updateEvent, writeEventsAlike, type EventColumns } from '../calendar/event.repository.ts';
import { storedBytes, type StorageLedger } from '../quota/storage-ledger.ts';
import { takeInvitations } from './invitation-budget.ts';
import { columnsOf } from '../calendar/event-columns.ts';
import type { PreparedWrite } from '../calendar/ical-work/tasks.ts';
import type { PlannedIndex } from '../calendar/index-plan.ts';
import type { JComp } from '../calendar/ical/jcal.ts';
import type { ParsedCalendarObject, ParsedEvent } from '../calendar/ical/index.ts';
import { writeIndex } from '../calendar/instance-index.ts';
import { deleteInstances, deleteInstancesOfMany, insertInstancesOfMany } from '../calendar/instance.repository.ts';
import { insertInboxMessages, type NewInboxMessage } from '../inbox/inbox.repository.ts';
import type { InboxKind } from '../inbox/inbox.table.ts';
import { calendarScope, inboxScope } from '../sync/scope-id.ts';
import type { ScopeWriter } from '../sync/scope-write.ts';
import { MissingScope } from '../sync/sync-scope.repository.ts';
import { allAttendees, componentOf, editItip, isSignificantChange, itipView, standingAnswer, type ItipEdits, type ItipView } from './itip.ts';
import { outsideInvitation, type ImipOut } from '../imip/imip-out.ts';
import { answerBooking, predictBooking, releaseBookings, type BookingDecision, type BookingRequest, type FreeSlots } from './room-booking.ts';
import type { BookedInstance, ExpandBookable } from './room-booking-reach.ts';
import { addressesOfAccount, approversOf, copiesOf, copyTextsOf, delegateCopyOptIns, deleteLink, deleteLinks, dismissApprovals, findLiveEvent, insertLinks, linksOfCopies, ownerOfCalendar, resolveRecipients, rewriteTexts, type CopyLink, type Recipient } from './scheduling.repository.ts';
import { SchedulingLimits } from './scheduling-limits.ts';
import { LoopSlicer } from '../event-loop-slices.ts';
import { resolveRightsOfMany } from '../calendar/calendar-access.ts';
import { isPublic } from '../calendar/privacy/index.ts';

/**
 * Implicit scheduling inside CalendarEvent/set (RFC 6638 semantics, RFC 5546
 * rules; DESIGN §6a). One Schedule is made per /set call:
 *
 * 1. Before the transaction, `scopes()` names every scope the call will
 *    write: the calendar, each internal attendee's calendar and inbox, the
 *    organizer's calendar and inbox for answers. The event service bumps
 *    them all in ONE sorted bumpAll (sync/scope-write.ts), so concurrent
 *    invitations cannot deadlock.
 * 2. Inside, after the bump, `scopes()` runs again under the locks; if the
 *    call now needs a scope it did not bump (a copy made meanwhile), the
 *    transaction is retried (`Replan`).
 * 3. Each object is then an organizer's write (copies, inbox messages and
 *    resource answers follow), an attendee's answer to their copy (the
 *    organizer's copy follows), or neither.
 */

export class Replan extends Error {
  override readonly name = 'Replan';
}

export interface ScheduleInput {
  calendarId: string;
  /** The account owning the calendar written (null: a resource's calendar). */
  ownerId: string | null;
  ownerDomainId: string | null;
  creates: ReadonlyMap<string, PreparedWrite>;
  updates: ReadonlyMap<string, PreparedWrite>;
  destroys: readonly string[];
  replies: ReadonlyMap<string, { partstat: string; recurrenceId?: string | undefined; sequence?: number | undefined }>;
  /** COUNTER proposals (attendee copies) and DECLINECOUNTERs (organizer events) of the call, by event id. */
  counters: ReadonlyMap<string, { start: string; end: string; comment?: string | undefined; sequence?: number | undefined }>;
  declineCounters: ReadonlyMap<string, { messageId: string; comment?: string | undefined }>;
  now: Date;
  /** Parses and plans texts the scheduler makes (final texts, answered copies), in the calendar worker pool. */
  prepare: (texts: string[]) => Promise<PreparedWrite[]>;
  /** Expands a booking's instances past the occurrence index, in the worker pool (room-booking-reach.ts). */
  expandBookable: ExpandBookable;
  /** The caller's address when they act as a delegate of the calendar's owner (SENT-BY), as known before the transaction. */
  sentBy: string | null;
  /** The last attempt: a text the plan did not foresee is planned under the locks instead of re-running the call. */
  planUnderLocks: boolean;
  /** The organizer's invitation budget: attendee copies per minute (DMCI_INVITATION_COPIES_PER_MINUTE). */
  invitationCopiesPerMinute: number;
  /** Resource/decide: the resource whose held request an approver decides (its approvers' inboxes are written). */
  approvingFor: readonly string[];
  /** iMIP: queues mail to attendees outside the server in this transaction (absent: nobody outside is mailed). */
  imip?: ImipOut | undefined;
  /**
   * iMIP in: calendars whose messages the call delivers besides those its objects name (the organizer's for an
   * answer from outside, the attendee's for an invitation from outside), so their delegates who chose copies get them.
   */
  inboxCalendars?: readonly string[] | undefined;
  /**
   * iMIP in: organizer events the call answers for an attendee outside the server (Schedule.answerFromOutside).
   * The answer reaches every internal attendee's copy of them, whose calendars are so written too.
   */
  answeredEvents?: readonly string[] | undefined;
  /**
   * Occurrences past the occurrence index that an answer names alone (a resource's late decline,
   * series-skip-answers.ts): their wall-clock times by recurrence id, as the booking's expansion gave them.
   * Server-made only: a client's reply names indexed occurrences.
   */
  occurrenceTimes?: ReadonlyMap<string, OccurrenceTimes> | undefined;
}

/** An occurrence's wall-clock times on the series' own clock (as the index holds them). */
export type OccurrenceTimes = { startLocal: string; endLocal: string; allDay: boolean };

type PreparedOk = Extract<PreparedWrite, { ok: true }>;

/**
 * Each resource's answer (address →): its PARTSTAT, the occurrences it declined alone (recurrence ids), and those of
 * them past the occurrence index with their wall-clock times (`far`: their overrides are made from these).
 */
type ResourceAnswer = { partstat: string; declined: readonly string[]; far?: ReadonlyMap<string, BookedInstance> };
type ResourceAnswers = ReadonlyMap<string, ResourceAnswer>;

/** Does any component name an ORGANIZER or an ATTENDEE (from the worker's parse)? Without one, a write schedules nothing. */
function mayInvite(obj: ParsedCalendarObject): boolean {
  const components: ParsedEvent[] = obj.master ? [obj.master, ...obj.overrides] : obj.overrides;
  return components.some((c) => c.organizer !== null || c.attendees.length > 0);
}

function resourceAnswer({ answer, farDeclined }: BookingDecision): ResourceAnswer {
  return { partstat: answer.partstat, declined: answer.declinedOccurrences ?? [], far: new Map(farDeclined.map((r) => [r.recurrenceId, r])) };
}

const sameAnswer = (a: { partstat: string; declined: readonly string[] } | undefined, b: { partstat: string; declined: readonly string[] }) =>
  a !== undefined && a.partstat === b.partstat && a.declined.join(',') === b.declined.join(',');

type Modseqs = ReadonlyMap<string, number>;
type Outcomes = Record<string, ScheduleOutcome>;

interface OrganizerObject {
  view: ItipView;
  recipients: Map<string, Recipient>;
  outcomes: Outcomes;
  /** The resources' answers as planned before the transaction (address → PARTSTAT). */
  predicted?: ResourceAnswers;
}

export class Schedule {
  private ownerAddresses = new Set<string>();
  private readonly organizer = new Map<string, OrganizerObject>();
  private refused = new Map<string, SetError>();
  private recipients = new Map<string, Recipient>();
  /** Delegates who get copies of the messages for a calendar (calendar id → delegates), as found under the locks. */
  private delegates = new Map<string, Array<{ accountId: string; mayReadPrivate: boolean }>>();
  /** Set inside the transaction: the caller's address when a delegate acts for the calendar's owner (SENT-BY). */
  sentBy: string | null = null;
  /** Texts parsed and index-planned before the transaction, by text (`plan`). */
  private readonly plans = new Map<string, PreparedWrite>();
  /** Accounts whose stored bytes the call changes through copies (found by `scopes`), and their ledgers once locked. */
  private charged = new Set<string>();
  /** Approvers (accounts) of the resources the call books or releases, as found under the locks (their inboxes are bumped). */
  private approvers = new Map<string, string[]>();
  private ledgers = new Map<string, StorageLedger>();

  private constructor(private readonly input: ScheduleInput) {}

  /** Reads who is who (outside the transaction: nothing here is trusted until `scopes` agrees under the locks). */
  static async open(db: Db, input: ScheduleInput): Promise<Schedule> {
    const schedule = new Schedule(input);
    await schedule.resolve(db);
    await schedule.plan(db);
    return schedule;
  }

  private async resolve(db: Db): Promise<void> {
    if (this.input.ownerId === null) return;
    // Most writes schedule nothing: they cost no address lookup and no iTIP view of their text.
    const writes = [...this.input.creates.values(), ...this.input.updates.values()];
    if (!writes.some((parsed) => parsed.ok && mayInvite(parsed.obj))) return;
    this.ownerAddresses = await addressesOfAccount(db, this.input.ownerId);
    const wanted = new Set<string>();
    for (const [key, parsed] of [...this.input.creates, ...this.input.updates]) {
      if (!parsed.ok) continue;
      const view = itipView(parsed.obj.text);
      const attendees = [...allAttendees(view).values()].filter((a) => !this.ownerAddresses.has(a.address));
      if (view.organizer === null || attendees.length === 0) continue;
      if (!this.ownerAddresses.has(view.organizer)) continue;
      if (attendees.length > SchedulingLimits.maxAttendees) {
        this.refused.set(key, { code: ErrorCode.LIMIT_EXCEEDED, message: `at most ${SchedulingLimits.maxAttendees} attendees per event`, details: { limit: SchedulingLimits.maxAttendees } });
        continue;
      }
      const bad = attendees.find((a) => !a.mailto);
      if (bad) {
        this.refused.set(key, { code: ErrorCode.INVALID_ICALENDAR, message: `ATTENDEE ${bad.address} is not a mailto: URI; dmci schedules only mailto: attendees`, details: { attendee: bad.address } });
        continue;
      }
      for (const a of attendees) if (a.agent === 'SERVER') wanted.add(a.address);
      this.organizer.set(key, { view, recipients: new Map(), outcomes: {} });
    }
    this.recipients = await resolveRecipients(db, [...wanted]);
    for (const [key, obj] of this.organizer) {
      for (const a of allAttendees(obj.view).values()) {
        if (this.ownerAddresses.has(a.address)) continue;
        const r = this.recipients.get(a.address);
        if (a.agent !== 'SERVER') obj.outcomes[a.address] = { delivery: a.agent === 'CLIENT' ? 'client' : 'none' };
        else if (!r) obj.outcomes[a.address] = { delivery: 'external' };
        else obj.recipients.set(a.address, r);
      }
      this.organizer.set(key, obj);
    }
    // A create naming an internal organizer other than the calendar's owner: only that organizer sends invitations.
    const organizers = new Set<string>();
    const foreign = new Map<string, string>();
    for (const [key, parsed] of this.input.creates) {
      if (!parsed.ok || this.organizer.has(key) || this.refused.has(key)) continue;
      const view = itipView(parsed.obj.text);
      if (view.organizer && !this.ownerAddresses.has(view.organizer) && allAttendees(view).size > 0) {
        organizers.add(view.organizer);
        foreign.set(key, view.organizer);
      }
    }
    if (foreign.size > 0) {
      const internal = await resolveRecipients(db, [...organizers]);
      for (const [key, organizer] of foreign) {
        if (internal.has(organizer)) this.refused.set(key, { code: ErrorCode.FORBIDDEN, message: `the ORGANIZER ${organizer} is not the owner of this calendar: only the organizer (or their delegate) sends invitations` });
      }
    }
  }

  /** A refusal of the object decided before the transaction (bad attendees, foreign organizer, too many attendees). */
  refusal(key: string): SetError | undefined {
    return this.refused.get(key);
  }

  /**
   * Every scope the call writes besides its own calendar. Runs before the
   * transaction and again inside it (with `trx`) after the bump, where a
   * difference means Replan.
   */
  async scopes(db: Db): Promise<Set<string>> {
    const out = new Set<string>();
    this.charged = new Set();
    const resources = new Set<string>();
    const addRecipient = (r: { calendarId: string; accountId?: string | null }) => {
      out.add(calendarScope(r.calendarId));
      if (r.accountId) out.add(inboxScope(r.accountId));
    };
    for (const obj of this.organizer.values()) {
      for (const r of obj.recipients.values()) {
        addRecipient({ calendarId: r.calendarId, accountId: r.kind === 'account' ? r.accountId : null });
        if (r.kind === 'account') this.charged.add(r.accountId);
        else resources.add(r.resourceId);
      }
    }
    const touched = [...this.input.updates.keys(), ...this.input.destroys, ...this.input.replies.keys(), ...this.input.counters.keys(), ...this.input.declineCounters.keys()];
    const links = await linksOfCopies(db, touched);
    for (const link of links.values()) {
      out.add(calendarScope(link.organizer_calendar_id));
      const owner = await ownerOfCalendar(db, link.organizer_calendar_id);
      if (owner) out.add(inboxScope(owner));
    }
    // An answer reaches every other attendee's copy of the event (spreadAnswer): their calendars are written too.
    const answered = new Set([...[...links.values()].map((l) => l.organizer_event_id), ...(this.input.answeredEvents ?? [])]);
    for (const copy of await copiesOf(db, [...answered])) out.add(calendarScope(copy.calendar_id));
    const inboxCalendars = new Set<string>();
    for (const obj of this.organizer.values()) for (const r of obj.recipients.values()) if (r.kind === 'account') inboxCalendars.add(r.calendarId);
    for (const link of links.values()) inboxCalendars.add(link.organizer_calendar_id);
    for (const calendarId of this.input.inboxCalendars ?? []) inboxCalendars.add(calendarId);
    // A room may decline for a conflict: it tells the organizer in their inbox (organizerWrite).
    if (this.input.ownerId && resources.size > 0 && this.organizer.size > 0) {
      out.add(inboxScope(this.input.ownerId));
      inboxCalendars.add(this.input.calendarId);
    }
    for (const copy of await copiesOf(db, touched.filter((id) => !links.has(id)))) {
      addRecipient({ calendarId: copy.calendar_id, accountId: copy.account_id });
      if (copy.account_id) inboxCalendars.add(copy.calendar_id);
      if (copy.account_id) this.charged.add(copy.account_id);
      if (copy.resource_id) resources.add(copy.resource_id);
    }
    // Approvers of the resources: their `approval` messages are sent or dismissed.
    this.approvers = await approversOf(db, [...resources, ...this.input.approvingFor]);
    for (const accounts of this.approvers.values()) for (const a of accounts) out.add(inboxScope(a));
    // Delegates who chose copies of these calendars' messages, while their grant still makes them delegates.
    this.delegates = new Map();
    const optIns = await delegateCopyOptIns(db, [...inboxCalendars]);
    if (optIns.length > 0) {
      const rights = await resolveRightsOfMany(db, [...new Set(optIns.map((o) => o.account_id))], { calendarIds: [...new Set(optIns.map((o) => o.calendar_id))] });
      for (const { calendar_id, account_id } of optIns) {
        const access = rights.get(account_id)?.get(calendar_id);
        if (!access?.delegate) continue;
        this.delegates.set(calendar_id, [...(this.delegates.get(calendar_id) ?? []), { accountId: account_id, mayReadPrivate: access.mayReadPrivate }]);
        out.add(inboxScope(account_id));
      }
    }
    out.delete(calendarScope(this.input.calendarId));
    return out;
  }

  /**
   * The messages and, for each, a copy for every delegate of the recipient's
   * calendar who chose copies; a delegate without private access does not
   * see the subject of a private or confidential event.
   */
  private async deliver(trx: Db, modseqs: Modseqs, messages: Array<NewInboxMessage & { modseq: number }>, classification: string, addressOf: (accountId: string) => string | undefined): Promise<void> {
    const all = [...messages];
    for (const m of messages) {
      if (!m.calendar_id) continue;
      for (const d of this.delegates.get(m.calendar_id) ?? []) {
        if (d.accountId === m.account_id) continue;
        all.push({ ...m, account_id: d.accountId, modseq: modseqs.get(inboxScope(d.accountId))!, on_behalf_of: addressOf(m.account_id) ?? null, summary: d.mayReadPrivate || isPublic(classification) ? m.summary : null });
      }
    }
    await insertInboxMessages(trx, all);
  }

  /** Inside the transaction, after the bump: the scopes needed now must all be bumped. */
  async check(trx: Db, bumped: Modseqs): Promise<void> {
    for (const scope of await this.scopes(trx)) if (!bumped.has(scope)) throw new Replan(scope);
  }

  /**
   * A resource answering in its own transaction (Resource/decide, a late decline): bumps the resource calendar's
   * scope and `extra` (what `scopes()` named before) in one sorted step, then `check`s — a scope gone or newly
   * needed means Replan.
   */
  async lockAsResource(writer: ScopeWriter, own: string, extra: Iterable<string>): Promise<Modseqs> {
    const modseqs = await writer.bumpAll([own, ...extra]).catch((error: unknown) => {
      if (error instanceof MissingScope) throw new Replan(error.scope);
      throw error;
    });
    await this.check(writer.trx, modseqs);
    return modseqs;
  }

  /** Accounts whose storage the call charges for copies (besides the calendar's owner): their ledgers must be opened with the owner's. */
  chargedAccounts(): string[] {
    return [...this.charged];
  }

  /** The storage ledgers of the call (the owner's and `chargedAccounts`), locked by the caller in one sorted step. */
  useLedgers(ledgers: Map<string, StorageLedger>): void {
    this.ledgers = ledgers;
  }

  /**
   * Copies count toward their attendee's quota but are never refused for it:
   * the organizer's write must not fail because of someone else's storage
   * (docs/decisions.md). Returns whether the account is now over its quota.
   */
  private charge(accountId: string | null, bytes: number): boolean {
    if (accountId === null || bytes === 0) return false;
    const ledger = this.ledgers.get(accountId);
    if (!ledger) throw new Replan(`account ${accountId} was not charged for when the locks were taken`);
    return ledger.charge(bytes);
  }

  /** The organizer's invitation budget for one organizer write: a refusal when its copies are over the rate (invitation-budget.ts). */
  async admitInvitations(trx: Db, key: string): Promise<SetError | undefined> {
    const obj = this.organizer.get(key);
    if (!obj || this.input.ownerId === null) return undefined;
    return takeInvitations(trx, this.input.ownerId, obj.recipients.size, this.input.invitationCopiesPerMinute, this.input.now);
  }

  isOrganizerWrite(key: string): boolean {
    return this.organizer.has(key);
  }

  async linkOf(trx: Db, eventId: string): Promise<CopyLink | undefined> {
    return (await linksOfCopies(trx, [eventId])).get(eventId);
  }

  /**
   * The organizer's final text for a write (`old` null for a create): the
   * SEQUENCE and every internal attendee's PARTSTAT as the server knows them,
   * the resources' answers, DTSTAMP, SENT-BY. Pure CPU on texts already
   * validated; the same function plans (before the transaction, with
   * predicted answers) and writes (under the locks, with the real ones), so
   * equal inputs give the equal text the plan cache is keyed by.
   */
  private organizerText(obj: OrganizerObject, parsed: PreparedOk, old: CalendarEventRow | null, sentByAddress: string | null, resourceAnswers: ResourceAnswers): { text: string; sequence: number } {
    const before = old?.ics ? itipView(old.ics) : null;
    const significant = before !== null && isSignificantChange(before, obj.view);
    const sequence = before === null ? obj.view.sequence : Math.max(obj.view.sequence, before.sequence + (significant ? 1 : 0));
    const partstats: Array<{ rid: string; address: string; partstat: string }> = [];
    // The server knows each answer: on a create or a significant change everyone is asked again; otherwise answers stay.
    for (const [rid, c] of obj.view.components) {
      for (const a of c.attendees.values()) {
        if (!obj.recipients.has(a.address) || resourceAnswers.has(a.address)) continue;
        const kept = significant || before === null ? undefined : before.components.get(rid)?.attendees.get(a.address)?.partstat;
        partstats.push({ rid, address: a.address, partstat: kept ?? 'NEEDS-ACTION' });
      }
    }
    for (const [address, { partstat }] of resourceAnswers) partstats.push({ rid: '*', address, partstat });
    // Occurrences a resource declined alone (policy declineConflictingOccurrences): an override each, the resource DECLINED
    // in it and everyone else as in the series.
    const addComponents: JComp[] = [];
    const added = new Set<string>();
    for (const [address, { declined, far }] of resourceAnswers) {
      for (const recurrenceId of declined) {
        if (obj.view.components.has(recurrenceId)) {
          partstats.push({ rid: recurrenceId, address, partstat: 'DECLINED' });
          continue;
        }
        // The occurrence's wall-clock times: from the index, or past it from the booking's expansion.
        const row = parsed.index.rows.find((r) => r.recurrenceId === recurrenceId);
        const local = row ?? far?.get(recurrenceId)?.local;
        const made = local ? occurrenceOf(parsed.obj.text, { recurrence_id: recurrenceId, start_local: local.startLocal, end_local: local.endLocal, all_day: local.allDay }) : undefined;
        if (!made) continue;
        if (!obj.view.components.has(made.rid) && !added.has(made.rid)) {
          added.add(made.rid);
          addComponents.push(made.component);
          for (const p of partstats.filter((p) => p.rid === '')) partstats.push({ ...p, rid: made.rid });
        }
        partstats.push({ rid: made.rid, address, partstat: 'DECLINED' });
      }
    }
    const sentBy = sentByAddress ? { sentBy: { address: obj.view.organizer!, by: sentByAddress, on: 'organizer' as const } } : {};
    return { text: editItip(parsed.obj.text, { sequence, dtstamp: this.input.now, partstats, ...(addComponents.length ? { addComponents } : {}), ...sentBy }), sequence };
  }

  /** A resource's standing answer when this write changes nothing significant for it (itip.ts standingAnswer); it needs its copy. */
  private standing(obj: OrganizerObject, old: CalendarEventRow | null, hasCopy: boolean, address: string): { partstat: string; declined: string[] } | undefined {
    return old?.ics && hasCopy ? standingAnswer(itipView(old.ics), obj.view, address) : undefined;
  }

  /** A resource's booking request for this write. */
  private bookingRequest(r: Extract<Recipient, { kind: 'resource' }>, parsed: PreparedOk, copyEventId: string | null): BookingRequest {
    return {
      resourceId: r.resourceId,
      domainId: r.domainId,
      copyEventId,
      bookerAccountId: this.input.ownerId!,
      bookerDomainId: this.input.ownerDomainId!,
      recurring: parsed.obj.recurring,
      firstStart: parsed.obj.firstStart,
      lastEnd: parsed.obj.lastEnd,
      index: parsed.index,
      ics: parsed.obj.text,
      expand: this.input.expandBookable,
      now: this.input.now,
    };
  }

  /**
   * Before the transaction: the texts this call will most likely write —
   * each organizer's final text (with the resources' answers as they would
   * be given now) and each answered copy — parsed and index-planned in ONE
   * worker-pool task, so nothing is parsed while the scope locks are held.
   * Under the locks each text is made again from what is there then; if it
   * differs from the plan (someone wrote meanwhile), the call is re-run
   * (`Replan`) rather than planned under the locks.
   */
  private async plan(db: Db): Promise<void> {
    for (const p of [...this.input.creates.values(), ...this.input.updates.values()]) if (p.ok) this.plans.set(p.obj.text, p);
    const texts = new Set<string>();
    const olds = new Map((await findLiveEvents(db, this.input.calendarId, [...this.organizer.keys()].filter((k) => this.input.updates.has(k)))).map((r) => [r.id, r]));
    for (const [key, obj] of this.organizer) {
      const parsed = this.input.creates.get(key) ?? this.input.updates.get(key);
      const old = this.input.creates.has(key) ? null : (olds.get(key) ?? undefined);
      if (!parsed?.ok || old === undefined) continue;
      const copies = new Map((old ? await copiesOf(db, [old.id]) : []).map((c) => [c.attendee, c.event_id]));
      const answers = new Map<string, { partstat: string; declined: readonly string[] }>();
      for (const r of obj.recipients.values()) {
        if (r.kind !== 'resource') continue;
        const standing = this.standing(obj, old, copies.has(r.address), r.address);
        answers.set(r.address, standing ?? resourceAnswer(await predictBooking(db, this.bookingRequest(r, parsed, copies.get(r.address) ?? null))));
      }
      obj.predicted = answers;
      texts.add(this.organizerText(obj, parsed, old, this.input.sentBy, answers).text);
    }
    const answered = [...this.input.replies.keys(), ...[...this.input.updates.keys()].filter((k) => !this.organizer.has(k))];
    const links = await linksOfCopies(db, answered);
    const attendeeOf = new Map([...links].map(([id, link]) => [id, link.attendee]));
    // Reply shortcuts on invitations from outside the server (no link): answerOutside.
    const unlinked = await findLiveEvents(db, this.input.calendarId, [...this.input.replies.keys()].filter((id) => !links.has(id)));
    for (const row of this.input.ownerId ? unlinked : []) {
      const outside = await outsideInvitation(db, this.input.ownerId!, row);
      if (outside) attendeeOf.set(row.id, outside.me);
    }
    for (const copy of await findLiveEvents(db, this.input.calendarId, [...attendeeOf.keys()])) {
      const reply = this.input.replies.get(copy.id);
      const written = this.input.updates.get(copy.id);
      const how = reply ? { reply } : written?.ok ? { written } : undefined;
      if (!how || !copy.ics) continue;
      const edit = await answerEdit(db, copy, attendeeOf.get(copy.id)!, how, this.input.occurrenceTimes);
      if ('copyText' in edit && edit.copyText !== null) texts.add(this.signedAnswer(edit.copyText, attendeeOf.get(copy.id)!, this.input.sentBy));
    }
    const wanted = [...texts].filter((t) => !this.plans.has(t));
    const prepared = await this.input.prepare(wanted);
    wanted.forEach((text, i) => this.plans.set(text, prepared[i]!));
  }

  /** The planned parse of a text made under the locks: a text nobody planned means the plan is stale (see `plan`). */
  private async planned(text: string): Promise<PreparedWrite> {
    const plan = this.plans.get(text);
    if (plan) return plan;
    // The last attempt plans under the locks rather than fail a call that keeps meeting concurrent writes.
    if (!this.input.planUnderLocks) throw new Replan('a planned text changed under the locks');
    const [prepared] = await this.input.prepare([text]);
    this.plans.set(text, prepared!);
    return prepared!;
  }

  private signedAnswer(copyText: string, attendee: string, sentBy: string | null): string {
    // A delegate answering for the attendee says so (SENT-BY) in both copies.
    return sentBy ? editItip(copyText, { sentBy: { address: attendee, by: sentBy, on: 'attendee' } }) : copyText;
  }

  /**
   * The organizer created or changed a scheduling object (`old` null for a
   * create). Writes every copy (one statement per table for all of them),
   * lets resources answer, calls `write` with the organizer's final text (it
   * stores the organizer's row and returns its id), then the links and inbox
   * messages, and cancels the copies of attendees no longer invited.
   */
  async organizerWrite(trx: Db, modseqs: Modseqs, key: string, parsed: PreparedOk, old: CalendarEventRow | null, write: (ics: string) => Promise<string>): Promise<Outcomes> {
    const obj = this.organizer.get(key)!;
    const existing = old ? await copiesOf(trx, [old.id]) : [];
    const copyByAddress = new Map(existing.map((c) => [c.attendee, c]));
    const recipients = [...obj.recipients.values()];
    const copyIds = new Map<string, string>();
    const predicted: ResourceAnswers = obj.predicted ?? new Map();
    let made = this.organizerText(obj, parsed, old, this.sentBy, predicted);
    let final = await this.planned(made.text);
    if (!final.ok) throw new Error('the scheduled text of a valid object failed to parse');
    const writeAll = async (plan: PreparedOk) => {
      const ids = await this.writeCopies(
        trx,
        modseqs,
        columnsOf(plan.obj),
        recipients.map((r) => ({
          calendarId: r.calendarId,
          accountId: r.kind === 'account' ? r.accountId : null,
          copyId: copyIds.get(r.address) ?? copyByAddress.get(r.address)?.event_id,
          index: attendeeIndex(plan.index, plan.obj, r.address),
        })),
      );
      recipients.forEach((r, i) => copyIds.set(r.address, ids[i]!));
    };
    // Copies are written with the planned text, then the resources answer (their bookings need their copies).
    await writeAll(final);
    const given = new Map<string, { partstat: string; declined: readonly string[] }>();
    // Resources whose answer (and booking) a non-significant change leaves standing: not asked again.
    const standing = new Set<string>();
    for (const r of recipients) {
      if (r.kind !== 'resource') continue;
      const kept = this.standing(obj, old, copyByAddress.has(r.address), r.address);
      if (kept) {
        standing.add(r.address);
        obj.outcomes[r.address] = { delivery: 'answered', partstat: kept.partstat, ...(kept.declined.length > 0 ? { declinedOccurrences: kept.declined } : {}) };
        given.set(r.address, kept);
        continue;
      }
      const decision = await answerBooking(trx, { ...this.bookingRequest(r, parsed, null), copyEventId: copyIds.get(r.address)! });
      obj.outcomes[r.address] = decision.answer;
      given.set(r.address, resourceAnswer(decision));
    }
    if (![...given].every(([address, answer]) => sameAnswer(predicted.get(address), answer))) {
      // A resource answered otherwise than predicted (it was booked meanwhile). When only its PARTSTAT differs, the
      // planned parse is patched rather than the text parsed again under the locks; occurrences declined alone change
      // the occurrences too, so that text is planned anew (a re-run; on the last attempt, under the locks).
      made = this.organizerText(obj, parsed, old, this.sentBy, given);
      const occurrences = [...given.values(), ...predicted.values()].some((a) => a.declined.length > 0);
      final = occurrences ? await this.planned(made.text) : withPartstats(final, made.text, new Map([...given].map(([address, a]) => [address, a.partstat])));
      if (!final.ok) throw new Error('the scheduled text of a valid object failed to parse');
      this.plans.set(made.text, final);
      await writeAll(final);
    }
    const { text: finalText, sequence } = made;
    const columns = columnsOf(final.obj);
    const eventId = await write(finalText);
    await this.input.imip?.organizerWrite(trx, { ownerId: this.input.ownerId!, calendarId: this.input.calendarId, eventId, before: old?.ics ?? null, after: finalText, now: this.input.now });
    await insertLinks(trx, recipients.map((r) => ({ event_id: copyIds.get(r.address)!, organizer_event_id: eventId, organizer_calendar_id: this.input.calendarId, attendee: r.address })));
    const messages: Array<NewInboxMessage & { modseq: number }> = [];
    // A request held for approval (TENTATIVE without a reason) goes to the resource's approvers; asked again, the earlier asks go.
    const resourceCopies = recipients.flatMap((r) => (r.kind === 'resource' && !standing.has(r.address) ? [{ r, copyId: copyIds.get(r.address)! }] : []));
    await this.dismissApprovalsOf(trx, modseqs, resourceCopies.map(({ r, copyId }) => ({ resourceId: r.resourceId, copyId })));
    for (const { r, copyId } of resourceCopies) {
      const answer = obj.outcomes[r.address]!;
      // Held: TENTATIVE in approval mode (and not for a conflict, unless only some occurrences were declined for one).
      if (answer.partstat !== 'TENTATIVE' || (answer.reason !== undefined && !answer.declinedOccurrences)) continue;
      for (const approver of this.approvers.get(r.resourceId) ?? []) {
        messages.push(
          this.message(modseqs, approver, 'approval', {
            uid: parsed.obj.uid,
            calendar_id: r.calendarId,
            event_id: copyId,
            sender: obj.view.organizer!,
            sequence,
            // Approvers act for the room, not for the organizer: a private meeting's subject stays private.
            summary: isPublic(columns.classification) ? columns.summary : null,
            first_start: columns.first_start,
            on_behalf_of: r.address,
          }),
        );
      }
    }
    // A room declining for a conflict says so in the organizer's inbox as well (the set result says it first: a
    // connector that did not show it, or the organizer's delegates, learn it there), with when the room is free.
    for (const { r } of resourceCopies) {
      const answer = obj.outcomes[r.address]!;
      if (answer.partstat !== 'DECLINED' || answer.reason !== 'conflict' || this.input.ownerId === null) continue;
      messages.push(
        this.message(modseqs, this.input.ownerId, 'reply', {
          uid: parsed.obj.uid,
          calendar_id: this.input.calendarId,
          event_id: eventId,
          sender: r.address,
          sequence,
          partstat: 'DECLINED',
          summary: columns.summary,
          first_start: columns.first_start,
          ...freeSlotColumns(answer),
        }),
      );
    }
    for (const r of recipients) {
      if (r.kind !== 'account') continue;
      const earlier = copyByAddress.get(r.address);
      messages.push(this.message(modseqs, r.accountId, earlier ? 'update' : 'request', { uid: parsed.obj.uid, calendar_id: r.calendarId, event_id: copyIds.get(r.address)!, sender: obj.view.organizer!, sequence, summary: columns.summary, first_start: columns.first_start }));
      obj.outcomes[r.address] = { delivery: 'delivered', ...(this.ledgers.get(r.accountId)?.isOver() ? { overQuota: true } : {}) };
    }
    const gone = existing.filter((copy) => !obj.recipients.has(copy.attendee));
    await this.cancelCopies(trx, modseqs, gone, { uid: parsed.obj.uid, sender: obj.view.organizer!, sequence, summary: columns.summary, first_start: columns.first_start }, messages);
    for (const copy of gone) obj.outcomes[copy.attendee] = { delivery: 'cancelled' };
    const addresses = new Map<string, string>();
    if (this.input.ownerId && obj.view.organizer) addresses.set(this.input.ownerId, obj.view.organizer);
    for (const r of recipients) if (r.kind === 'account') addresses.set(r.accountId, r.address);
    for (const c of existing) if (c.account_id && !addresses.has(c.account_id)) addresses.set(c.account_id, c.attendee);
    await this.deliver(trx, modseqs, messages, columns.classification, (id) => addresses.get(id));
    return obj.outcomes;
  }

  /** The organizer destroyed an event (or removed every attendee): each copy is cancelled. */
  async organizerCancel(trx: Db, modseqs: Modseqs, old: CalendarEventRow): Promise<Outcomes | undefined> {
    if (this.input.ownerId) await this.input.imip?.organizerCancel(trx, { ownerId: this.input.ownerId, old, now: this.input.now });
    const copies = await copiesOf(trx, [old.id]);
    if (copies.length === 0) return undefined;
    const view = itipView(old.ics!);
    const outcomes: Outcomes = {};
    const messages: Array<NewInboxMessage & { modseq: number }> = [];
    await this.cancelCopies(trx, modseqs, copies, { uid: old.uid, sender: view.organizer ?? '', sequence: view.sequence + 1, summary: old.summary, first_start: old.first_start }, messages);
    for (const copy of copies) outcomes[copy.attendee] = { delivery: 'cancelled' };
    const addresses = new Map(copies.flatMap((c) => (c.account_id ? [[c.account_id, c.attendee] as const] : [])));
    await this.deliver(trx, modseqs, messages, old.classification, (id) => addresses.get(id));
    return outcomes;
  }

  /**
   * An attendee answers in their copy: by writing it (`written`: only their
   * own PARTSTAT may differ, per component, and they may add an occurrence
   * to answer it alone), by the reply shortcut, or by destroying it (a
   * decline). The copy and the organizer's copy change together; the
   * organizer gets a reply in their inbox (with `slots`: when a resource
   * declining for a conflict is free instead). Returns a refusal or the
   * copy's new version (0 when destroyed).
   */
  async answer(
    trx: Db,
    modseqs: Modseqs,
    copy: CalendarEventRow,
    link: CopyLink,
    how: AnswerHow,
    slots: FreeSlots = {},
  ): Promise<SetError | { version: number }> {
    const organizerRow = await findLiveEvent(trx, link.organizer_event_id);
    if (!organizerRow?.ics) return { code: ErrorCode.NOT_FOUND, message: "the organizer's event no longer exists" };
    const me = link.attendee;
    const edit = await answerEdit(trx, copy, me, how, this.input.occurrenceTimes);
    if ('code' in edit) return edit;
    const { current, answers, added, answered } = edit;
    let { copyText } = edit;

    const sentBy = this.sentBy ? { address: me, by: this.sentBy, on: 'attendee' as const } : undefined;
    if (copyText !== null) copyText = this.signedAnswer(copyText, me, this.sentBy);
    // The organizer's copy and every other attendee's: this attendee's PARTSTAT, and the occurrences they answered alone.
    const components = added.flatMap((rid) => {
      const component = copyText === null ? undefined : componentOf(copyText, rid);
      return component ? [{ rid, component }] : [];
    });
    await this.spreadAnswer(trx, modseqs, organizerRow, copy.id, answers, components, sentBy);

    const stored = await this.storeAnswer(trx, modseqs, copy, copyText, me);
    if ('code' in stored) return stored;
    await this.replyToOrganizer(trx, modseqs, organizerRow, me, current.sequence, answered, slots);
    return stored;
  }

  /** The answering attendee's copy as answered (`copyText` null: destroyed); returns its new version (0 when destroyed). */
  private async storeAnswer(trx: Db, modseqs: Modseqs, copy: CalendarEventRow, copyText: string | null, me: string): Promise<SetError | { version: number }> {
    const copyModseq = modseqs.get(calendarScope(copy.calendar_id))!;
    // The answer changes the copy, which counts toward the answering attendee's quota (never refused for it).
    this.charge(this.input.ownerId, storedBytes(copyText) - storedBytes(copy.ics));
    if (copyText === null) {
      await deleteInstances(trx, copy.id);
      await tombstoneEvent(trx, copy.id, copyModseq);
      await deleteLink(trx, copy.id);
      return { version: 0 };
    }
    const prepared = await this.planned(copyText);
    if (!prepared.ok) return prepared.error;
    const columns = columnsOf(prepared.obj);
    const bounds = await writeIndex(trx, copy.calendar_id, copy.id, attendeeIndex(prepared.index, prepared.obj, me));
    return { version: await updateEvent(trx, copy.id, copyModseq, { ...columns, expanded_from: bounds.from, expanded_until: bounds.until }) };
  }

  /**
   * The reply shortcut on an invitation from an organizer outside the server
   * (a copy the calendar attendant made, or one the account stored itself):
   * no link, so `answer`'s attendee side alone — the copy takes the answer
   * (planned in `plan`) and the REPLY is queued for the organizer in this
   * transaction (ImipOut.attendeeWrite, the durable outbox). Undefined when
   * the event is no such invitation.
   */
  async answerOutside(trx: Db, modseqs: Modseqs, copy: CalendarEventRow, reply: { partstat: string; recurrenceId?: string | undefined; sequence?: number | undefined }): Promise<SetError | { version: number } | undefined> {
    const ownerId = this.input.ownerId;
    const outside = ownerId ? await outsideInvitation(trx, ownerId, copy) : undefined;
    if (!ownerId || !outside) return undefined;
    const edit = await answerEdit(trx, copy, outside.me, { reply });
    if ('code' in edit) return edit;
    const copyText = this.signedAnswer(edit.copyText!, outside.me, this.sentBy);
    await this.input.imip?.attendeeWrite(trx, { ownerId, old: copy, after: copyText, now: this.input.now });
    return this.storeAnswer(trx, modseqs, copy, copyText, outside.me);
  }

  /**
   * An answer from outside the server (an iMIP REPLY, server/imip/imip-in.ts):
   * `answer`'s organizer side alone — the attendee has no copy here. Their
   * PARTSTAT in the organizer's copy (an occurrence answered alone gets its
   * own component, as with the reply shortcut) and a reply in the organizer's
   * inbox. The caller has bumped the organizer's calendar and inbox scopes.
   */
  async answerFromOutside(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, attendee: string, reply: { partstat: string; recurrenceId?: string | undefined }): Promise<SetError | { version: number }> {
    const current = itipView(organizerRow.ics!);
    let rid = '';
    const added = [];
    if (reply.recurrenceId !== undefined) {
      const made = await occurrenceComponent(trx, organizerRow, reply.recurrenceId);
      if (!made) return { code: ErrorCode.NOT_FOUND, message: `the event has no occurrence ${reply.recurrenceId}` };
      rid = made.rid;
      if (!current.components.has(rid)) added.push(made);
    }
    const version = await this.spreadAnswer(trx, modseqs, organizerRow, null, [{ rid, address: attendee, partstat: reply.partstat }], added, undefined);
    await this.replyToOrganizer(trx, modseqs, organizerRow, attendee, current.sequence, { partstat: reply.partstat, rid: rid === '' ? null : rid });
    return { version };
  }

  /** A COUNTER from outside the server (iMIP): `counter`'s organizer side — the proposal in the organizer's inbox. */
  async counterFromOutside(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, attendee: string, proposal: { start: Date; end: Date; comment: string | null }): Promise<void> {
    await this.proposalToOrganizer(trx, modseqs, organizerRow, attendee, itipView(organizerRow.ics!).sequence, proposal);
  }

  /**
   * An invitation (or its update) from an organizer outside the server, taken
   * in by the calendar attendant (server/imip/calendar-attendant.ts): the
   * attendee's copy written as an internal attendee's is (writeCopies, the
   * index tentative until answered) and a message in their inbox (and their
   * delegates' who chose copies: `inboxCalendars`). No link: the organizer is
   * not here, and the attendee's answer goes out by iMIP (ImipOut.attendeeWrite).
   * The caller bumped the copy's calendar, the inbox and `scopes()`, and gave
   * the attendee's ledger (`useLedgers`). Returns the copy's id.
   */
  async copyFromOutside(
    trx: Db,
    modseqs: Modseqs,
    c: { accountId: string; address: string; calendarId: string; copyId: string | undefined; plan: PreparedOk; kind: 'request' | 'update' | 'cancel'; recurrenceId: string | null },
  ): Promise<string> {
    const columns = columnsOf(c.plan.obj);
    const [id] = await this.writeCopies(trx, modseqs, columns, [{ calendarId: c.calendarId, accountId: c.accountId, copyId: c.copyId, index: attendeeIndex(c.plan.index, c.plan.obj, c.address) }]);
    const view = itipView(c.plan.obj.text);
    const about = { uid: c.plan.obj.uid, calendar_id: c.calendarId, event_id: id!, sender: view.organizer ?? '', sequence: view.sequence, summary: columns.summary, first_start: columns.first_start, recurrence_id: c.recurrenceId };
    await this.deliver(trx, modseqs, [this.message(modseqs, c.accountId, c.kind, about)], columns.classification, () => c.address);
    return id!;
  }

  /** A cancellation from an organizer outside the server (the calendar attendant): the copy goes as an internal attendee's does, with a `cancel` message. */
  async cancelFromOutside(trx: Db, modseqs: Modseqs, c: { accountId: string; address: string; copy: CalendarEventRow; sequence: number }): Promise<void> {
    const messages: Array<NewInboxMessage & { modseq: number }> = [];
    const about = { uid: c.copy.uid, sender: itipView(c.copy.ics!).organizer ?? '', sequence: c.sequence, summary: c.copy.summary, first_start: c.copy.first_start };
    await this.cancelCopies(trx, modseqs, [{ event_id: c.copy.id, calendar_id: c.copy.calendar_id, account_id: c.accountId, resource_id: null }], about, messages);
    await this.deliver(trx, modseqs, messages, c.copy.classification, () => c.address);
  }

  /**
   * An attendee's answer reaches the organizer's copy and every other
   * attendee's copy of the event (as an organizer's server refreshes the
   * attendees' copies after a REPLY, RFC 6638 §3.2.2): their PARTSTATs, and
   * the occurrences they answered alone (a component each, in which every
   * holder keeps their own series answer). Nothing else changes — no time,
   * no column, no index row (each copy's index reflects its own attendee's
   * answers only) — so one statement rewrites every text, each stamped with
   * its calendar's modseq (those scopes were bumped: `scopes`), and the
   * pushes follow. Like the organizer's copy, the other copies are
   * server-made edits charged to nobody (StorageLedger.commit). Returns the
   * organizer's copy's new version.
   */
  private async spreadAnswer(
    trx: Db,
    modseqs: Modseqs,
    organizerRow: CalendarEventRow,
    answeringCopyId: string | null,
    answers: ReadonlyArray<{ rid: string; address: string; partstat: string }>,
    added: ReadonlyArray<{ rid: string; component: JComp }>,
    sentBy: ItipEdits['sentBy'],
  ): Promise<number> {
    const others = (await copyTextsOf(trx, organizerRow.id)).filter((c) => c.event_id !== answeringCopyId);
    const holders = [
      { id: organizerRow.id, calendarId: organizerRow.calendar_id, ics: organizerRow.ics!, self: itipView(organizerRow.ics!).organizer },
      ...others.map((c) => ({ id: c.event_id, calendarId: c.calendar_id, ics: c.ics, self: c.attendee as string | null })),
    ];
    const items: Array<{ id: string; ics: string; modseq: number }> = [];
    // One parse and one edit per copy on the event loop (2–4 ms each for 100 attendees): sliced, so
    // an answer to a meeting of up to maxAttendees people holds nobody else up for long.
    const slicer = new LoopSlicer();
    for (const h of holders) {
      await slicer.pause();
      const modseq = modseqs.get(calendarScope(h.calendarId));
      // A copy made after the scopes were named (an attendee added meanwhile): the call runs again with its scope.
      if (modseq === undefined) throw new Replan(calendarScope(h.calendarId));
      const view = itipView(h.ics);
      const mine = added.filter((a) => !view.components.has(a.rid));
      const own = h.self === null ? undefined : view.components.get('')?.attendees.get(h.self)?.partstat;
      const partstats = [...answers, ...(own === undefined ? [] : mine.map((a) => ({ rid: a.rid, address: h.self!, partstat: own })))];
      const ics = editItip(h.ics, { ...(sentBy ? { sentBy } : {}), partstats, addComponents: mine.map((a) => structuredClone(a.component)) });
      if (h.id === organizerRow.id || ics !== h.ics) items.push({ id: h.id, ics, modseq });
    }
    const versions = await rewriteTexts(trx, items);
    return versions.get(organizerRow.id)!;
  }

  /** The organizer's inbox (and their delegates' who chose copies) gets a reply. */
  private async replyToOrganizer(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, sender: string, sequence: number, answered: { partstat: string; rid: string | null }, slots: FreeSlots = {}): Promise<void> {
    const organizerAccount = await ownerOfCalendar(trx, organizerRow.calendar_id);
    if (!organizerAccount) return;
    const organizerAddress = itipView(organizerRow.ics!).organizer ?? undefined;
    await this.deliver(trx, modseqs, [
      this.message(modseqs, organizerAccount, 'reply', {
        uid: organizerRow.uid,
        calendar_id: organizerRow.calendar_id,
        event_id: organizerRow.id,
        sender,
        sequence,
        partstat: answered.partstat,
        recurrence_id: answered.rid,
        summary: organizerRow.summary,
        first_start: organizerRow.first_start,
        ...freeSlotColumns(slots),
      }),
    ], organizerRow.classification, () => organizerAddress);
  }

  /** COUNTER: an attendee proposes another time; the organizer's inbox gets it (nothing else changes). */
  async counter(trx: Db, modseqs: Modseqs, copy: CalendarEventRow, link: CopyLink, proposal: { start: string; end: string; comment?: string | undefined; sequence?: number | undefined }): Promise<SetError | { version: number }> {
    const organizerRow = await findLiveEvent(trx, link.organizer_event_id);
    if (!organizerRow?.ics) return { code: ErrorCode.NOT_FOUND, message: "the organizer's event no longer exists" };
    const current = itipView(copy.ics!);
    if (proposal.sequence !== undefined && proposal.sequence < current.sequence) return staleAnswer(proposal.sequence, current.sequence);
    const start = new Date(proposal.start);
    const end = new Date(proposal.end);
    if (!(start < end)) return { code: ErrorCode.INVALID_ARGUMENTS, message: 'a proposed time must end after it starts' };
    await this.proposalToOrganizer(trx, modseqs, organizerRow, link.attendee, current.sequence, { start, end, comment: proposal.comment ?? null });
    return { version: copy.version };
  }

  /** The organizer's inbox gets an attendee's proposal. */
  private async proposalToOrganizer(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, sender: string, sequence: number, proposal: { start: Date; end: Date; comment: string | null }): Promise<void> {
    const organizerAccount = await ownerOfCalendar(trx, organizerRow.calendar_id);
    if (!organizerAccount) return;
    const organizerAddress = itipView(organizerRow.ics!).organizer ?? undefined;
    const message = this.message(modseqs, organizerAccount, 'counter', {
      uid: organizerRow.uid,
      calendar_id: organizerRow.calendar_id,
      event_id: organizerRow.id,
      sender,
      sequence,
      summary: organizerRow.summary,
      first_start: organizerRow.first_start,
      proposed_start: proposal.start,
      proposed_end: proposal.end,
      comment: proposal.comment,
    });
    await this.deliver(trx, modseqs, [message], organizerRow.classification, () => organizerAddress);
  }

  /** DECLINECOUNTER: the organizer declines a proposal from their inbox; the proposing attendee's inbox gets it. */
  async declineCounter(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, decline: { messageId: string; comment?: string | undefined }): Promise<SetError | { version: number }> {
    const proposal = await trx
      .selectFrom('inbox_messages')
      .selectAll()
      .where('id', '=', decline.messageId)
      .where('kind', '=', 'counter')
      .where('event_id', '=', organizerRow.id)
      .where('account_id', '=', this.input.ownerId ?? '')
      .where('deleted', '=', false)
      .executeTakeFirst();
    if (!proposal) return { code: ErrorCode.NOT_FOUND, message: `no proposal ${decline.messageId} for this event in the organizer's inbox` };
    const copy = (await copiesOf(trx, [organizerRow.id])).find((c) => c.attendee === proposal.sender);
    if (copy?.account_id) {
      const view = itipView(organizerRow.ics!);
      await this.deliver(
        trx,
        modseqs,
        [
          this.message(modseqs, copy.account_id, 'declinecounter', {
            uid: organizerRow.uid,
            calendar_id: copy.calendar_id,
            event_id: copy.event_id,
            sender: view.organizer ?? '',
            sequence: view.sequence,
            summary: organizerRow.summary,
            first_start: organizerRow.first_start,
            proposed_start: proposal.proposed_start,
            proposed_end: proposal.proposed_end,
            comment: decline.comment ?? null,
          }),
        ],
        organizerRow.classification,
        () => copy.attendee,
      );
    } else if (!copy && this.input.ownerId) await this.input.imip?.declineCounter(trx, { ownerId: this.input.ownerId, organizerRow, attendee: proposal.sender, comment: decline.comment ?? null, now: this.input.now });
    return { version: organizerRow.version };
  }

  private message(modseqs: Modseqs, accountId: string, kind: InboxKind, fields: Omit<NewInboxMessage, 'account_id' | 'kind'>): NewInboxMessage & { modseq: number } {
    return { account_id: accountId, kind, ...fields, modseq: modseqs.get(inboxScope(accountId))! };
  }

  /**
   * Inserts or updates the copies of one text in recipients' calendars, all
   * in one statement per table (an unlinked event with the same UID in a
   * recipient's calendar becomes the copy; two addresses of one person share
   * their one copy). Returns the copy id of each item, in order.
   */
  private async writeCopies(
    trx: Db,
    modseqs: Modseqs,
    columns: EventColumns,
    items: ReadonlyArray<{ calendarId: string; accountId: string | null; copyId: string | undefined; index: PlannedIndex }>,
  ): Promise<string[]> {
    if (items.length === 0) return [];
    const unlinked = await liveEventIdsByUid(trx, columns.uid, items.filter((i) => i.copyId === undefined).map((i) => i.calendarId));
    const byCalendar = new Map<string, { id: string | undefined; accountId: string | null; index: PlannedIndex }>();
    for (const item of items) if (!byCalendar.has(item.calendarId)) byCalendar.set(item.calendarId, { id: item.copyId ?? unlinked.get(item.calendarId), accountId: item.accountId, index: item.index });
    const calendars = [...byCalendar.keys()];
    // Each copy counts toward its attendee's quota: what it grows or shrinks by.
    const before = await storedBytesOf(trx, calendars.flatMap((c) => (byCalendar.get(c)!.accountId ? (byCalendar.get(c)!.id ?? []) : [])));
    for (const { id, accountId } of byCalendar.values()) this.charge(accountId, storedBytes(columns.ics) - (id ? (before.get(id) ?? 0) : 0));
    // Every copy's index is the same plan seen through one attendee's answers: same bounds.
    const bounds = items[0]!.index;
    const ids = await writeEventsAlike(
      trx,
      { ...columns, expanded_from: bounds.from, expanded_until: bounds.until },
      calendars.map((calendarId) => ({ id: byCalendar.get(calendarId)!.id, calendarId, modseq: modseqs.get(calendarScope(calendarId))! })),
    );
    const idOf = new Map(calendars.map((c, i) => [c, ids[i]!]));
    await deleteInstancesOfMany(trx, calendars.flatMap((c) => (byCalendar.get(c)!.id ? [idOf.get(c)!] : [])));
    await insertInstancesOfMany(trx, calendars.flatMap((calendarId) => byCalendar.get(calendarId)!.index.rows.map((row) => ({ ...row, eventId: idOf.get(calendarId)!, calendarId }))));
    return items.map((i) => idOf.get(i.calendarId)!);
  }

  /** Dismisses the approvers' `approval` messages about these resource copies. */
  async dismissApprovalsOf(trx: Db, modseqs: Modseqs, copies: ReadonlyArray<{ resourceId: string; copyId: string }>): Promise<void> {
    const inboxes = new Map<string, number>();
    for (const { resourceId } of copies) for (const a of this.approvers.get(resourceId) ?? []) inboxes.set(a, modseqs.get(inboxScope(a))!);
    await dismissApprovals(trx, copies.map((c) => c.copyId), inboxes);
  }

  /** Removes copies (attendees removed, or the event gone): one statement per table; each attendee's inbox gets a `cancel`. */
  private async cancelCopies(
    trx: Db,
    modseqs: Modseqs,
    copies: ReadonlyArray<{ event_id: string; calendar_id: string; account_id: string | null; resource_id: string | null }>,
    about: { uid: string; sender: string; sequence: number; summary: string | null; first_start: Date | null },
    messages: Array<NewInboxMessage & { modseq: number }>,
  ): Promise<void> {
    if (copies.length === 0) return;
    const ids = copies.map((c) => c.event_id);
    const bytes = await storedBytesOf(trx, ids);
    for (const c of copies) this.charge(c.account_id, -(bytes.get(c.event_id) ?? 0));
    await releaseBookings(trx, copies.filter((c) => c.resource_id).map((c) => c.event_id));
    await this.dismissApprovalsOf(trx, modseqs, copies.flatMap((c) => (c.resource_id ? [{ resourceId: c.resource_id, copyId: c.event_id }] : [])));
    await deleteInstancesOfMany(trx, ids);
    await tombstoneEvents(trx, copies.map((c) => ({ id: c.event_id, modseq: modseqs.get(calendarScope(c.calendar_id))! })));
    await deleteLinks(trx, ids);
    for (const copy of copies) if (copy.account_id) messages.push(this.message(modseqs, copy.account_id, 'cancel', { ...about, calendar_id: copy.calendar_id, event_id: null }));
  }
}

/** What an answer does to the copy's text (pure but for reading the occurrence a one-occurrence reply names). */
type AnswerHow = { written: PreparedOk } | { reply: { partstat: string; recurrenceId?: string | undefined; sequence?: number | undefined } } | { destroyed: true };

/**
 * An attendee's answer worked out on their copy: the PARTSTATs it sets, the
 * occurrences answered alone, the copy's new text (null: destroyed), or a
 * refusal. Used to plan the text before the transaction and to apply it
 * under the locks.
 */
async function answerEdit(
  db: Db,
  copy: CalendarEventRow,
  me: string,
  how: AnswerHow,
  occurrenceTimes?: ReadonlyMap<string, OccurrenceTimes>,
): Promise<SetError | { current: ItipView; answers: Array<{ rid: string; address: string; partstat: string }>; added: string[]; copyText: string | null; answered: { partstat: string; rid: string | null } }> {
    const current = itipView(copy.ics!);
    const answers: Array<{ rid: string; address: string; partstat: string }> = [];
    const added: string[] = [];
    let copyText: string | null;
    let answered: { partstat: string; rid: string | null };

    if ('written' in how) {
      const view = itipView(how.written.obj.text);
      if (view.sequence < current.sequence) return staleAnswer(view.sequence, current.sequence);
      const master = current.components.get('');
      for (const [rid, c] of current.components) {
        const mine = view.components.get(rid);
        if (!mine || mine.owned !== c.owned) return organizerOwned();
      }
      for (const [rid, c] of view.components) {
        if (current.components.has(rid)) continue;
        // A new occurrence component answers that occurrence alone: it may not move it or change its attendees.
        const sameAttendees = master !== undefined && [...c.attendees.keys()].sort().join(',') === [...master.attendees.keys()].sort().join(',');
        if (c.start !== rid || !sameAttendees) return organizerOwned();
        added.push(rid);
      }
      for (const [rid, c] of view.components) {
        const partstat = c.attendees.get(me)?.partstat;
        if (partstat && partstat !== current.components.get(rid)?.attendees.get(me)?.partstat) answers.push({ rid, address: me, partstat });
      }
      copyText = how.written.obj.text;
      const first = answers[0];
      answered = { partstat: answers.find((a) => a.rid === '')?.partstat ?? first?.partstat ?? current.components.get('')?.attendees.get(me)?.partstat ?? 'NEEDS-ACTION', rid: answers.length > 0 && answers.every((a) => a.rid !== '') ? first!.rid : null };
    } else if ('reply' in how) {
      const { partstat, recurrenceId, sequence } = how.reply;
      if (sequence !== undefined && sequence < current.sequence) return staleAnswer(sequence, current.sequence);
      let rid = '';
      let addComponents;
      if (recurrenceId !== undefined) {
        const made = await occurrenceComponent(db, copy, recurrenceId, occurrenceTimes);
        if (!made) return { code: ErrorCode.NOT_FOUND, message: `the event has no occurrence ${recurrenceId}` };
        rid = made.rid;
        if (!current.components.has(rid)) {
          addComponents = [made.component];
          added.push(rid);
        }
      }
      answers.push({ rid, address: me, partstat });
      copyText = editItip(copy.ics!, { partstats: answers, ...(addComponents ? { addComponents } : {}) });
      answered = { partstat, rid: rid === '' ? null : rid };
    } else {
      answers.push({ rid: '*', address: me, partstat: 'DECLINED' });
      copyText = null;
      answered = { partstat: 'DECLINED', rid: null };
    }

    return { current, answers, added, copyText, answered };
}

/**
 * A planned parse with some attendees' PARTSTAT changed on every component
 * (a resource's answer), for the text `organizerText` made with them: the
 * one thing that differs, and nothing the index or the columns depend on.
 */
function withPartstats(plan: PreparedOk, text: string, partstats: ReadonlyMap<string, string>): PreparedOk {
  const patch = (event: ParsedEvent): ParsedEvent => ({ ...event, attendees: event.attendees.map((a) => ({ ...a, partstat: partstats.get(a.email.toLowerCase()) ?? a.partstat })) });
  return { ok: true, index: plan.index, obj: { ...plan.obj, text, master: plan.obj.master && patch(plan.obj.master), overrides: plan.obj.overrides.map(patch) } };
}

/** The inbox columns of a `reply` that carries free slots. */
function freeSlotColumns(slots: FreeSlots) {
  return {
    free_next_start: slots.freeNext ? new Date(slots.freeNext.start) : null,
    free_next_end: slots.freeNext ? new Date(slots.freeNext.end) : null,
    free_earlier_start: slots.freeEarlier ? new Date(slots.freeEarlier.start) : null,
    free_earlier_end: slots.freeEarlier ? new Date(slots.freeEarlier.end) : null,
  };
}

function staleAnswer(answered: number, current: number): SetError {
  return {
    code: ErrorCode.STALE_ANSWER,
    message: `this answers SEQUENCE ${answered}, but the organizer has changed the event since (SEQUENCE ${current}): read the copy again and answer that`,
    details: { currentSequence: current },
  };
}

function organizerOwned(): SetError {
  return {
    code: ErrorCode.ORGANIZER_OWNED,
    message: "an attendee may change only their own PARTSTAT (and alarms): times, recurrence, location, summary, status and the attendee list are the organizer's",
  };
}

/**
 * The index an attendee's copy gets: the object's instances seen through the
 * attendee's answer for each one (an occurrence answered alone has its own) —
 * declined is free, not yet answered or tentative is tentative (as Outlook
 * shows an unanswered invitation), accepted as the event says.
 */
export function attendeeIndex(planned: PlannedIndex, obj: ParsedCalendarObject, address: string): PlannedIndex {
  const partstatIn = (event: ParsedEvent | null | undefined) => event?.attendees.find((a) => a.email.toLowerCase() === address)?.partstat?.toUpperCase();
  const master = partstatIn(obj.master) ?? 'NEEDS-ACTION';
  const byRid = new Map(obj.overrides.map((o) => [o.recurrenceId, partstatIn(o) ?? master]));
  return {
    ...planned,
    rows: planned.rows.map((r) => {
      const partstat = byRid.get(r.recurrenceId) ?? master;
      if (partstat === 'ACCEPTED') return r;
      if (partstat === 'DECLINED') return { ...r, busyType: 'FREE', transparent: true };
      return r.busyType === 'BUSY' ? { ...r, busyType: 'BUSY-TENTATIVE' } : r;
    }),
  };
}

/**
 * A component for one occurrence of the copy's series (the reply shortcut
 * answering one occurrence): the master with RECURRENCE-ID and DTSTART at the
 * occurrence, its recurrence rules removed. The occurrence is found in the
 * occurrence index by its recurrenceId as CalendarEvent/query reports it;
 * past the index, from the times the server knows (`known`: a resource's
 * late decline, from the booking's expansion).
 */
async function occurrenceComponent(trx: Db, copy: CalendarEventRow, recurrenceId: string, known?: ReadonlyMap<string, OccurrenceTimes>) {
  const instances = trx.selectFrom('event_instances').selectAll().where('event_id', '=', copy.id);
  let instance = await instances.where('recurrence_id', '=', recurrenceId).executeTakeFirst();
  // Not in canonical form: a DATE ('20261208') names that day's occurrence, a local time ('20261208T110000') the
  // occurrence starting then on the series' own clock — as clients that write RECURRENCE-ID otherwise mean it.
  const local = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2}))?$/.exec(recurrenceId);
  if (!instance && local) {
    const [, y, mo, d, h, mi, sec] = local;
    const prefix = h === undefined ? `${y}-${mo}-${d}` : `${y}-${mo}-${d}T${h}:${mi}:${sec}`;
    const found = await instances.where('start_local', 'like', `${prefix}%`).orderBy('during_start').limit(2).execute();
    // Two occurrences on one day: which one is meant is not said, so neither is taken.
    if (found.length === 1) instance = found[0];
  }
  const far = instance ? undefined : known?.get(recurrenceId);
  if (far) return occurrenceOf(copy.ics!, { recurrence_id: recurrenceId, start_local: far.startLocal, end_local: far.endLocal, all_day: far.allDay });
  return instance ? occurrenceOf(copy.ics!, instance) : undefined;
}

/**
 * The master of `ics` made an override for an occurrence of the index (see
 * occurrenceComponent), with its rid key: the index's canonical recurrence
 * id, which is the key of an override the text may already hold for it
 * (then that one is used, and this component is not: an override's local
 * times are on its own clock, not necessarily the master's).
 */
function occurrenceOf(ics: string, at: { recurrence_id: string; start_local: string; end_local: string; all_day: boolean }): { component: JComp; rid: string } | undefined {
  const master = componentOf(ics, '');
  if (!master) return undefined;
  const component = structuredClone(master);
  const start = component[1].find((p) => p[0] === 'dtstart');
  if (!start) return undefined;
  const utc = typeof start[3] === 'string' && start[3].endsWith('Z');
  const value = (local: string) => (at.all_day ? local.slice(0, 10) : utc ? `${local}Z` : local);
  component[1] = component[1].filter((p) => !['rrule', 'rdate', 'exdate', 'recurrence-id'].includes(p[0]));
  const dtstart = component[1].find((p) => p[0] === 'dtstart')!;
  dtstart[3] = value(at.start_local);
  const dtend = component[1].find((p) => p[0] === 'dtend');
  if (dtend) dtend[3] = value(at.end_local);
  component[1].push(['recurrence-id', { ...dtstart[1] }, dtstart[2], dtstart[3]]);
  return { component, rid: at.recurrence_id };
}

