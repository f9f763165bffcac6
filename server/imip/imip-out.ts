import { sql } from 'kysely';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import type { Db } from '../db/database.ts';
import { addressesOfAccount, resolveRecipients } from '../scheduling/scheduling.repository.ts';
import { allAttendees, editItip, isSignificantChange, itipView, parseRoot, type ItipView } from '../scheduling/itip.ts';
import { param, prop, subs, values, type JComp } from '../calendar/ical/jcal.ts';
import { cancelMessage, counterMessage, declineCounterMessage, occurrencesOf, replyMessage, requestMessage } from './itip-out.ts';
import { insertOutbox, type NewOutboxMessage } from './outbox.repository.ts';
import type { ImipMethod } from './outbox.table.ts';

/**
 * The one hook between implicit scheduling and the iMIP outbox (DESIGN §6a,
 * docs/protocol.md §Scheduling "People outside the server"). The scheduler
 * calls it inside the transaction of the scheduling change, so the outbox
 * rows commit or roll back with it. An address is outside the server when its
 * domain is none of the server's domains and no account or resource answers
 * to it; only SCHEDULE-AGENT=SERVER (the default) attendees are mailed.
 *
 * Which changes mail whom:
 * - organizer writes: REQUEST to each outside attendee on a create, when they
 *   are newly invited, and on a change of what the organizer owns (time,
 *   recurrence, location, summary, status, the attendee list); not when only
 *   answers changed. CANCEL (that attendee alone) to one no longer invited;
 *   one moved from the series to some occurrences gets a CANCEL of the
 *   series before the REQUEST of their occurrences.
 * - the organizer destroys the meeting or removes every attendee: CANCEL.
 * - an account answering an outside organizer's meeting (their PARTSTAT in
 *   their own event changed, or they destroyed it: DECLINED), when the
 *   ORGANIZER line does not say SCHEDULE-AGENT=CLIENT: REPLY.
 * - DECLINECOUNTER to an outside attendee whose COUNTER the organizer declined.
 */
export class ImipOut {
  constructor(private readonly options: { deadAfterMs: number }) {}

  /** An organizer's create or change (`before` null: a create); `after` is the text as stored. */
  async organizerWrite(trx: Db, w: { ownerId: string; calendarId: string; eventId: string; before: string | null; after: string; now: Date }): Promise<void> {
    const after = itipView(w.after);
    const before = w.before ? itipView(w.before) : null;
    const invitedNow = serverAttendees(after);
    const invitedBefore = before ? serverAttendees(before) : new Set<string>();
    const outside = await outsideOf(trx, [...invitedNow, ...invitedBefore]);
    if (outside.size === 0) return;
    const changed = before === null || isSignificantChange(before, after) || ownedChanged(before, after);
    const sender = await senderOf(trx, w.ownerId);
    const about = { calendar_id: w.calendarId, event_id: w.eventId, uid: uidOf(w.after), sequence: after.sequence, ...sender.columns, ...summaryOf(w.after) };
    const rows: NewOutboxMessage[] = [];
    // Moved from the series to some occurrences only: first a CANCEL of the series (a REQUEST of occurrences only
    // adds or changes those, so the receiver would keep the series), then the REQUEST of their occurrences. The
    // outbox sends rows to one recipient about one UID in the order queued (claimDue).
    const onSeries = (view: ItipView, address: string) => view.components.get('')?.attendees.has(address) === true;
    const movedOff = new Set([...invitedBefore].filter((a) => outside.has(a) && onSeries(before!, a) && !onSeries(after, a) && invitedNow.has(a)));
    for (const address of movedOff) rows.push({ ...about, method: 'CANCEL', recipient: address, ics: cancelMessage(w.before!, after.sequence, address, w.now) });
    // Each gets what they are invited to: the series, or only the occurrences they were added to.
    for (const address of invitedNow) {
      if (outside.has(address) && (changed || !invitedBefore.has(address) || movedOff.has(address))) rows.push({ ...about, method: 'REQUEST', recipient: address, ics: requestMessage(w.after, w.now, address) });
    }
    for (const address of invitedBefore) {
      if (!outside.has(address)) continue;
      if (!allAttendees(after).has(address)) {
        rows.push({ ...about, method: 'CANCEL', recipient: address, ics: cancelMessage(w.before!, after.sequence, address, w.now) });
        continue;
      }
      // Still invited to some occurrences, no longer to others: those are cancelled (a REQUEST of
      // occurrences only adds or changes them). On the series, their REQUEST excludes them instead.
      const now = occurrencesOf(w.after, address);
      const lost = new Set([...occurrencesOf(w.before!, address)].filter((rid) => !now.has(rid)));
      if (now.size > 0 && lost.size > 0) rows.push({ ...about, method: 'CANCEL', recipient: address, ics: cancelMessage(w.before!, after.sequence, address, w.now, lost) });
    }
    await insertOutbox(trx, rows, this.options.deadAfterMs);
  }

  /** The organizer destroyed the meeting (or it invites nobody now): CANCEL to every outside attendee. */
  async organizerCancel(trx: Db, c: { ownerId: string; old: CalendarEventRow; now: Date }): Promise<void> {
    // Most destroyed events invite nobody: a text search spares them the parse.
    if (!c.old.ics || !/^ATTENDEE[;:]/im.test(c.old.ics)) return;
    const view = itipView(c.old.ics);
    const invited = serverAttendees(view);
    if (view.organizer === null || invited.size === 0) return;
    if (!(await addressesOfAccount(trx, c.ownerId)).has(view.organizer)) return;
    const outside = await outsideOf(trx, [...invited]);
    if (outside.size === 0) return;
    const sender = await senderOf(trx, c.ownerId);
    const sequence = view.sequence + 1;
    const ics = cancelMessage(c.old.ics, sequence, null, c.now);
    const about = { calendar_id: c.old.calendar_id, event_id: null, uid: c.old.uid, sequence, ...sender.columns, ...summaryOf(c.old.ics) };
    await insertOutbox(trx, [...outside].map((recipient) => ({ ...about, method: 'CANCEL' as ImipMethod, recipient, ics })), this.options.deadAfterMs);
  }

  /**
   * An account's own write of an event an outside organizer sent it (not a
   * copy the server made): a changed PARTSTAT of theirs is a REPLY; `after`
   * null means they removed it (a decline, RFC 6638 §3.2.2.4).
   */
  async attendeeWrite(trx: Db, a: { ownerId: string; old: CalendarEventRow; after: string | null; now: Date }): Promise<void> {
    const who = await outsideInvitation(trx, a.ownerId, a.old);
    if (!who) return;
    const { me, before } = who;
    let text = a.after;
    if (text === null) {
      if (before.components.get('')?.attendees.get(me)?.partstat === 'DECLINED') return;
      text = editItip(a.old.ics!, { partstats: [{ rid: '*', address: me, partstat: 'DECLINED' }] });
    }
    const after = itipView(text);
    if (after.organizer !== before.organizer) return;
    const answered = new Set<string>();
    for (const [rid, c] of after.components) {
      const partstat = c.attendees.get(me)?.partstat;
      if (partstat && partstat !== 'NEEDS-ACTION' && partstat !== before.components.get(rid)?.attendees.get(me)?.partstat) answered.add(rid);
    }
    if (answered.size === 0) return;
    const sender = await senderOf(trx, a.ownerId, me);
    await insertOutbox(
      trx,
      [{ calendar_id: a.old.calendar_id, event_id: a.after === null ? null : a.old.id, uid: a.old.uid, sequence: after.sequence, ...sender.columns, ...summaryOf(text), method: 'REPLY', recipient: before.organizer!, ics: replyMessage(text, me, answered, a.now) }],
      this.options.deadAfterMs,
    );
  }

  /**
   * An account proposes another time (the `counter` argument) for a meeting an
   * outside organizer sent it: a COUNTER to that organizer. False when the
   * event is no such invitation (the caller answers as for any other event).
   */
  async attendeeCounter(trx: Db, c: { ownerId: string; row: CalendarEventRow; proposal: { start: string; end: string; comment?: string | undefined }; now: Date }): Promise<boolean> {
    const who = await outsideInvitation(trx, c.ownerId, c.row);
    if (!who) return false;
    const proposal = { start: new Date(c.proposal.start), end: new Date(c.proposal.end), comment: c.proposal.comment ?? null };
    const sender = await senderOf(trx, c.ownerId, who.me);
    await insertOutbox(
      trx,
      [{ calendar_id: c.row.calendar_id, event_id: c.row.id, uid: c.row.uid, sequence: who.before.sequence, ...sender.columns, ...summaryOf(c.row.ics!), method: 'COUNTER', recipient: who.before.organizer!, ics: counterMessage(c.row.ics!, who.me, proposal, c.now) }],
      this.options.deadAfterMs,
    );
    return true;
  }

  /** The organizer declined an outside attendee's COUNTER (the proposal came in by iMIP). */
  async declineCounter(trx: Db, d: { ownerId: string; organizerRow: CalendarEventRow; attendee: string; comment: string | null; now: Date }): Promise<void> {
    if (!d.organizerRow.ics || (await outsideOf(trx, [d.attendee])).size === 0) return;
    const sender = await senderOf(trx, d.ownerId);
    const view = itipView(d.organizerRow.ics);
    await insertOutbox(
      trx,
      [{ calendar_id: d.organizerRow.calendar_id, event_id: d.organizerRow.id, uid: d.organizerRow.uid, sequence: view.sequence, ...sender.columns, ...summaryOf(d.organizerRow.ics), method: 'DECLINECOUNTER', recipient: d.attendee, ics: declineCounterMessage(d.organizerRow.ics, d.attendee, d.comment, d.now) }],
      this.options.deadAfterMs,
    );
  }

  /** A REQUEST again to one outside attendee (their REFRESH, RFC 5546 §3.2.6). */
  async refresh(trx: Db, r: { ownerId: string; organizerRow: CalendarEventRow; attendee: string; now: Date }): Promise<void> {
    const sender = await senderOf(trx, r.ownerId);
    const view = itipView(r.organizerRow.ics!);
    await insertOutbox(
      trx,
      [{ calendar_id: r.organizerRow.calendar_id, event_id: r.organizerRow.id, uid: r.organizerRow.uid, sequence: view.sequence, ...sender.columns, ...summaryOf(r.organizerRow.ics!), method: 'REQUEST', recipient: r.attendee, ics: requestMessage(r.organizerRow.ics!, r.now, r.attendee) }],
      this.options.deadAfterMs,
    );
  }
}

/**
 * An event in the account's calendar that an outside organizer sent it (SCHEDULE-AGENT=SERVER on ORGANIZER): the
 * account's address in it. Such an event has no scheduling link (the organizer is not here): its answers go out
 * by iMIP (ImipOut.attendeeWrite), whether the account writes it or uses the reply shortcut (Schedule.answerOutside).
 */
export async function outsideInvitation(trx: Db, ownerId: string, row: CalendarEventRow): Promise<{ me: string; before: ItipView } | undefined> {
  // Most events written are not invitations from outside: a text search spares them the parse.
  if (!row.ics || !/^ORGANIZER[;:]/im.test(row.ics)) return undefined;
  const root = parseRoot(row.ics);
  const organizerLine = subs(root, 'vevent').map((c) => prop(c, 'organizer')).find(Boolean);
  if (!organizerLine || (param(organizerLine, 'schedule-agent') ?? 'SERVER').toUpperCase() !== 'SERVER') return undefined;
  const before = itipView(row.ics);
  if (before.organizer === null) return undefined;
  const mine = await addressesOfAccount(trx, ownerId);
  const me = [...allAttendees(before).keys()].find((address) => mine.has(address));
  if (!me || mine.has(before.organizer) || (await outsideOf(trx, [before.organizer])).size === 0) return undefined;
  return { me, before };
}

/** Attendees the server schedules (SCHEDULE-AGENT=SERVER, mailto:) anywhere in the object. */
function serverAttendees(view: ItipView): Set<string> {
  return new Set([...allAttendees(view).values()].filter((a) => a.agent === 'SERVER' && a.mailto && a.address !== view.organizer).map((a) => a.address));
}

function ownedChanged(before: ItipView, after: ItipView): boolean {
  for (const [rid, c] of after.components) if (before.components.get(rid)?.owned !== c.owned) return true;
  return false;
}

/** The addresses among `addresses` that are outside the server: not in one of its domains, and no account or resource answers to them. */
export async function outsideOf(db: Db, addresses: readonly string[]): Promise<Set<string>> {
  const unique = [...new Set(addresses)].filter((a) => /^[^@\s]+@[^@\s]+$/.test(a));
  if (unique.length === 0) return new Set();
  const domains = [...new Set(unique.map((a) => a.split('@')[1]!))];
  const ours = new Set((await db.selectFrom('domains').select('name').where('name', 'in', domains).execute()).map((d) => d.name.toLowerCase()));
  const candidates = unique.filter((a) => !ours.has(a.split('@')[1]!));
  const internal = await resolveRecipients(db, candidates);
  return new Set(candidates.filter((a) => !internal.has(a)));
}

/** The sending account's columns: domain, name, language, the zone the summary shows times in (working-hours zone, else the domain's). */
async function senderOf(db: Db, accountId: string, address?: string) {
  const row = await sql<{ domain_id: string; email: string; display_name: string; zone: string; language: string | null }>`
    select a.domain_id, a.email, a.display_name, a.language, coalesce(av.time_zone, d.work_time_zone, 'UTC') as zone
    from accounts a join domains d on d.id = a.domain_id left join account_availability av on av.account_id = a.id
    where a.id = ${accountId}
  `.execute(db);
  const r = row.rows[0]!;
  return { columns: { domain_id: r.domain_id, account_id: accountId, sender: address ?? r.email.toLowerCase(), sender_name: r.display_name, time_zone: r.zone, language: r.language } };
}

function uidOf(ics: string): string {
  const event = subs(parseRoot(ics), 'vevent')[0];
  const uid = event ? prop(event, 'uid') : undefined;
  return uid ? String(values(uid)[0]) : '';
}

/** SUMMARY of the master (or first component) for the outbox listing. */
function summaryOf(ics: string): { summary: string | null } {
  const events: JComp[] = subs(parseRoot(ics), 'vevent');
  const master = events.find((c) => !prop(c, 'recurrence-id')) ?? events[0];
  const summary = master ? prop(master, 'summary') : undefined;
  return { summary: summary ? String(values(summary)[0]) : null };
}
