import { ErrorCode, type ScheduleOutcome, type SetError } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import { findLiveEventByUid, insertEvent, setIndexBounds, tombstoneEvent, updateEvent, type EventColumns } from '../calendar/event.repository.ts';
import { columnsOf } from '../calendar/event-columns.ts';
import type { PreparedWrite } from '../calendar/ical-work/tasks.ts';
import type { PlannedIndex } from '../calendar/index-plan.ts';
import type { ParsedCalendarObject, ParsedEvent } from '../calendar/ical/index.ts';
import { writeIndex } from '../calendar/instance-index.ts';
import { deleteInstances } from '../calendar/instance.repository.ts';
import { insertInboxMessages, type NewInboxMessage } from '../inbox/inbox.repository.ts';
import type { InboxKind } from '../inbox/inbox.table.ts';
import { calendarScope, inboxScope } from '../sync/scope-id.ts';
import { allAttendees, componentOf, editItip, isSignificantChange, itipView, type ItipEdits, type ItipView } from './itip.ts';
import type { JComp } from '../calendar/ical/jcal.ts';
import { answerBooking, releaseBookings } from './room-booking.ts';
import { addressesOfAccount, copiesOf, delegateCopyOptIns, deleteLink, findLiveEvent, insertLink, linksOfCopies, ownerOfCalendar, resolveRecipients, type CopyLink, type Recipient } from './scheduling.repository.ts';
import { SchedulingLimits } from './scheduling-limits.ts';
import type { ImipOut } from '../imip/imip-out.ts';
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
  /** Parses and plans texts the scheduler makes (an answered copy), in the calendar worker pool. */
  prepare: (texts: string[]) => Promise<PreparedWrite[]>;
  /** iMIP: queues mail to attendees outside the server in this transaction (absent: nobody outside is mailed). */
  imip?: ImipOut | undefined;
}

type Modseqs = ReadonlyMap<string, number>;
type Outcomes = Record<string, ScheduleOutcome>;

interface OrganizerObject {
  view: ItipView;
  recipients: Map<string, Recipient>;
  outcomes: Outcomes;
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

  private constructor(private readonly input: ScheduleInput) {}

  /** Reads who is who (outside the transaction: nothing here is trusted until `scopes` agrees under the locks). */
  static async open(db: Db, input: ScheduleInput): Promise<Schedule> {
    const schedule = new Schedule(input);
    await schedule.resolve(db);
    return schedule;
  }

  private async resolve(db: Db): Promise<void> {
    if (this.input.ownerId === null) return;
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
    const addRecipient = (r: { calendarId: string; accountId?: string | null }) => {
      out.add(calendarScope(r.calendarId));
      if (r.accountId) out.add(inboxScope(r.accountId));
    };
    for (const obj of this.organizer.values()) for (const r of obj.recipients.values()) addRecipient({ calendarId: r.calendarId, accountId: r.kind === 'account' ? r.accountId : null });
    const touched = [...this.input.updates.keys(), ...this.input.destroys, ...this.input.replies.keys(), ...this.input.counters.keys(), ...this.input.declineCounters.keys()];
    const links = await linksOfCopies(db, touched);
    for (const link of links.values()) {
      out.add(calendarScope(link.organizer_calendar_id));
      const owner = await ownerOfCalendar(db, link.organizer_calendar_id);
      if (owner) out.add(inboxScope(owner));
    }
    const inboxCalendars = new Set<string>();
    for (const obj of this.organizer.values()) for (const r of obj.recipients.values()) if (r.kind === 'account') inboxCalendars.add(r.calendarId);
    for (const link of links.values()) inboxCalendars.add(link.organizer_calendar_id);
    for (const copy of await copiesOf(db, touched.filter((id) => !links.has(id)))) {
      addRecipient({ calendarId: copy.calendar_id, accountId: copy.account_id });
      if (copy.account_id) inboxCalendars.add(copy.calendar_id);
    }
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

  isOrganizerWrite(key: string): boolean {
    return this.organizer.has(key);
  }

  async linkOf(trx: Db, eventId: string): Promise<CopyLink | undefined> {
    return (await linksOfCopies(trx, [eventId])).get(eventId);
  }

  /**
   * The organizer created or changed a scheduling object (`old` null for a
   * create). Works out SEQUENCE and every attendee's PARTSTAT, lets resources
   * answer, calls `write` with the organizer's final text (it stores the
   * organizer's row and returns its id), then writes every copy and inbox
   * message and cancels the copies of attendees no longer invited.
   */
  async organizerWrite(trx: Db, modseqs: Modseqs, key: string, parsed: Extract<PreparedWrite, { ok: true }>, old: CalendarEventRow | null, write: (ics: string) => Promise<string>): Promise<Outcomes> {
    const obj = this.organizer.get(key)!;
    const before = old?.ics ? itipView(old.ics) : null;
    const significant = before !== null && isSignificantChange(before, obj.view);
    const sequence = before === null ? obj.view.sequence : Math.max(obj.view.sequence, before.sequence + (significant ? 1 : 0));
    const partstats: Array<{ rid: string; address: string; partstat: string }> = [];
    // The server knows each answer: on a create or a significant change everyone is asked again; otherwise answers stay.
    for (const [rid, c] of obj.view.components) {
      for (const a of c.attendees.values()) {
        if (!obj.recipients.has(a.address)) continue;
        const kept = significant || before === null ? undefined : before.components.get(rid)?.attendees.get(a.address)?.partstat;
        partstats.push({ rid, address: a.address, partstat: kept ?? 'NEEDS-ACTION' });
      }
    }
    const existing = old ? await copiesOf(trx, [old.id]) : [];
    const copyByAddress = new Map(existing.map((c) => [c.attendee, c]));
    const sentBy = this.sentBy ? { address: obj.view.organizer!, by: this.sentBy, on: 'organizer' as const } : undefined;
    const base = editItip(parsed.obj.text, { sequence, dtstamp: this.input.now, partstats, ...(sentBy ? { sentBy } : {}) });
    const columns = columnsOf(parsed.obj);

    // Resources answer first: their copies must exist for their bookings.
    const copyIds = new Map<string, string>();
    for (const r of obj.recipients.values()) {
      if (r.kind !== 'resource') continue;
      const copyId = await this.writeCopy(trx, modseqs, r.calendarId, copyByAddress.get(r.address)?.event_id, { ...columns, ics: base }, parsed.index);
      copyIds.set(r.address, copyId);
      const answer = await answerBooking(trx, {
        resourceId: r.resourceId,
        domainId: r.domainId,
        copyEventId: copyId,
        bookerAccountId: this.input.ownerId!,
        bookerDomainId: this.input.ownerDomainId!,
        recurring: parsed.obj.recurring,
        lastEnd: parsed.obj.lastEnd,
        index: parsed.index,
        now: this.input.now,
      });
      obj.outcomes[r.address] = answer;
      partstats.push({ rid: '*', address: r.address, partstat: answer.partstat });
    }
    const finalText = editItip(parsed.obj.text, { sequence, dtstamp: this.input.now, partstats, ...(sentBy ? { sentBy } : {}) });
    const eventId = await write(finalText);
    await this.input.imip?.organizerWrite(trx, { ownerId: this.input.ownerId!, calendarId: this.input.calendarId, eventId, before: old?.ics ?? null, after: finalText, now: this.input.now });
    // The final text parsed once more (in the worker pool): each copy's index follows that attendee's answers, occurrence by occurrence.
    const [final] = await this.input.prepare([finalText]);
    if (!final?.ok) throw new Error('the scheduled text of a valid object failed to parse');
    const messages: Array<NewInboxMessage & { modseq: number }> = [];
    for (const r of obj.recipients.values()) {
      const earlier = copyByAddress.get(r.address);
      const copyId = await this.writeCopy(trx, modseqs, r.calendarId, copyIds.get(r.address) ?? earlier?.event_id, { ...columns, ics: finalText }, attendeeIndex(final.index, final.obj, r.address));
      await insertLink(trx, { event_id: copyId, organizer_event_id: eventId, organizer_calendar_id: this.input.calendarId, attendee: r.address });
      if (r.kind === 'account') {
        messages.push(this.message(modseqs, r.accountId, earlier ? 'update' : 'request', { uid: parsed.obj.uid, calendar_id: r.calendarId, event_id: copyId, sender: obj.view.organizer!, sequence, summary: columns.summary, first_start: columns.first_start }));
        obj.outcomes[r.address] = { delivery: 'delivered' };
      }
    }
    for (const copy of existing) {
      if (obj.recipients.has(copy.attendee)) continue;
      await this.cancelCopy(trx, modseqs, copy, { uid: parsed.obj.uid, sender: obj.view.organizer!, sequence, summary: columns.summary, first_start: columns.first_start }, messages);
      obj.outcomes[copy.attendee] = { delivery: 'cancelled' };
    }
    const addresses = new Map<string, string>();
    for (const r of obj.recipients.values()) if (r.kind === 'account') addresses.set(r.accountId, r.address);
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
    for (const copy of copies) {
      await this.cancelCopy(trx, modseqs, copy, { uid: old.uid, sender: view.organizer ?? '', sequence: view.sequence + 1, summary: old.summary, first_start: old.first_start }, messages);
      outcomes[copy.attendee] = { delivery: 'cancelled' };
    }
    const addresses = new Map(copies.flatMap((c) => (c.account_id ? [[c.account_id, c.attendee] as const] : [])));
    await this.deliver(trx, modseqs, messages, old.classification, (id) => addresses.get(id));
    return outcomes;
  }

  /**
   * An attendee answers in their copy: by writing it (`written`: only their
   * own PARTSTAT may differ, per component, and they may add an occurrence
   * to answer it alone), by the reply shortcut, or by destroying it (a
   * decline). The copy and the organizer's copy change together; the
   * organizer gets a reply in their inbox. Returns a refusal or the copy's
   * new version (0 when destroyed).
   */
  async answer(
    trx: Db,
    modseqs: Modseqs,
    copy: CalendarEventRow,
    link: CopyLink,
    how: { written: Extract<PreparedWrite, { ok: true }> } | { reply: { partstat: string; recurrenceId?: string | undefined; sequence?: number | undefined } } | { destroyed: true },
  ): Promise<SetError | { version: number }> {
    const organizerRow = await findLiveEvent(trx, link.organizer_event_id);
    if (!organizerRow?.ics) return { code: ErrorCode.NOT_FOUND, message: "the organizer's event no longer exists" };
    const current = itipView(copy.ics!);
    const me = link.attendee;
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
        const made = await occurrenceComponent(trx, copy, recurrenceId);
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

    // A delegate answering for the attendee says so (SENT-BY) in both copies.
    const sentBy = this.sentBy ? { address: me, by: this.sentBy, on: 'attendee' as const } : undefined;
    if (sentBy && copyText !== null) copyText = editItip(copyText, { sentBy });
    // The organizer's copy: this attendee's PARTSTAT, and the occurrences they answered alone.
    await this.answerOrganizerCopy(trx, modseqs, organizerRow, answers, added.map((rid) => componentOf(copyText!, rid)!).filter(Boolean), sentBy);

    let version = 0;
    const copyModseq = modseqs.get(calendarScope(copy.calendar_id))!;
    if (copyText === null) {
      await deleteInstances(trx, copy.id);
      await tombstoneEvent(trx, copy.id, copyModseq);
      await deleteLink(trx, copy.id);
    } else {
      const [prepared] = await this.input.prepare([copyText]);
      if (!prepared?.ok) return prepared ? prepared.error : { code: ErrorCode.INTERNAL, message: 'the answered copy could not be prepared' };
      const columns = columnsOf(prepared.obj);
      const bounds = await writeIndex(trx, copy.calendar_id, copy.id, attendeeIndex(prepared.index, prepared.obj, me));
      version = await updateEvent(trx, copy.id, copyModseq, { ...columns, expanded_from: bounds.from, expanded_until: bounds.until });
    }
    await this.replyToOrganizer(trx, modseqs, organizerRow, me, current.sequence, answered);
    return { version };
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
      if (!current.components.has(rid)) added.push(made.component);
    }
    const version = await this.answerOrganizerCopy(trx, modseqs, organizerRow, [{ rid, address: attendee, partstat: reply.partstat }], added, undefined);
    await this.replyToOrganizer(trx, modseqs, organizerRow, attendee, current.sequence, { partstat: reply.partstat, rid: rid === '' ? null : rid });
    return { version };
  }

  /** A COUNTER from outside the server (iMIP): `counter`'s organizer side — the proposal in the organizer's inbox. */
  async counterFromOutside(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, attendee: string, proposal: { start: Date; end: Date; comment: string | null }): Promise<void> {
    await this.proposalToOrganizer(trx, modseqs, organizerRow, attendee, itipView(organizerRow.ics!).sequence, proposal);
  }

  /** The organizer's copy takes an attendee's answers (and the occurrence components they answered alone). */
  private async answerOrganizerCopy(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, answers: Array<{ rid: string; address: string; partstat: string }>, addComponents: JComp[], sentBy: ItipEdits['sentBy']): Promise<number> {
    const organizerText = editItip(organizerRow.ics!, { ...(sentBy ? { sentBy } : {}), partstats: answers, addComponents });
    const organizerModseq = modseqs.get(calendarScope(organizerRow.calendar_id))!;
    return updateEvent(trx, organizerRow.id, organizerModseq, { ...columnsOfRow(organizerRow), ics: organizerText });
  }

  /** The organizer's inbox (and their delegates' who chose copies) gets a reply. */
  private async replyToOrganizer(trx: Db, modseqs: Modseqs, organizerRow: CalendarEventRow, sender: string, sequence: number, answered: { partstat: string; rid: string | null }): Promise<void> {
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
        recurrence_id: answered.rid === null ? null : answered.rid.split('|')[1] ?? answered.rid,
        summary: organizerRow.summary,
        first_start: organizerRow.first_start,
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

  /** Inserts or updates the copy in a recipient's calendar (an unlinked event with the same UID there becomes the copy). */
  private async writeCopy(trx: Db, modseqs: Modseqs, calendarId: string, copyId: string | undefined, columns: EventColumns, index: PlannedIndex): Promise<string> {
    const modseq = modseqs.get(calendarScope(calendarId))!;
    const id = copyId ?? (await findLiveEventByUid(trx, calendarId, columns.uid))?.id;
    if (id) {
      const bounds = await writeIndex(trx, calendarId, id, index);
      await updateEvent(trx, id, modseq, { ...columns, expanded_from: bounds.from, expanded_until: bounds.until });
      return id;
    }
    const row = await insertEvent(trx, calendarId, modseq, columns, null);
    await setIndexBounds(trx, row.id, await writeIndex(trx, calendarId, row.id, index));
    return row.id;
  }

  private async cancelCopy(
    trx: Db,
    modseqs: Modseqs,
    copy: CopyLink & { calendar_id: string; account_id: string | null; resource_id: string | null },
    about: { uid: string; sender: string; sequence: number; summary: string | null; first_start: Date | null },
    messages: Array<NewInboxMessage & { modseq: number }>,
  ): Promise<void> {
    if (copy.resource_id) await releaseBookings(trx, copy.event_id);
    await deleteInstances(trx, copy.event_id);
    await tombstoneEvent(trx, copy.event_id, modseqs.get(calendarScope(copy.calendar_id))!);
    await deleteLink(trx, copy.event_id);
    if (copy.account_id) messages.push(this.message(modseqs, copy.account_id, 'cancel', { ...about, calendar_id: copy.calendar_id, event_id: null }));
  }
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

function columnsOfRow(row: CalendarEventRow): EventColumns {
  return {
    uid: row.uid,
    ics: row.ics!,
    summary: row.summary,
    first_start: row.first_start!,
    last_end: row.last_end,
    recurring: row.recurring,
    classification: row.classification,
    expanded_from: row.expanded_from,
    expanded_until: row.expanded_until,
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
 * occurrence index by its recurrenceId as CalendarEvent/query reports it.
 */
async function occurrenceComponent(trx: Db, copy: CalendarEventRow, recurrenceId: string) {
  const instance = await trx.selectFrom('event_instances').selectAll().where('event_id', '=', copy.id).where('recurrence_id', '=', recurrenceId).executeTakeFirst();
  if (!instance) return undefined;
  const master = componentOf(copy.ics!, '');
  if (!master) return undefined;
  const component = structuredClone(master);
  const start = component[1].find((p) => p[0] === 'dtstart');
  if (!start) return undefined;
  const utc = typeof start[3] === 'string' && start[3].endsWith('Z');
  const value = (local: string) => (instance.all_day ? local.slice(0, 10) : utc ? `${local}Z` : local);
  const tzid = typeof start[1].tzid === 'string' ? start[1].tzid : '';
  component[1] = component[1].filter((p) => !['rrule', 'rdate', 'exdate', 'recurrence-id'].includes(p[0]));
  const dtstart = component[1].find((p) => p[0] === 'dtstart')!;
  dtstart[3] = value(instance.start_local);
  const dtend = component[1].find((p) => p[0] === 'dtend');
  if (dtend) dtend[3] = value(instance.end_local);
  component[1].push(['recurrence-id', { ...dtstart[1] }, dtstart[2], dtstart[3]]);
  return { component, rid: `${tzid}|${String(dtstart[3])}` };
}

