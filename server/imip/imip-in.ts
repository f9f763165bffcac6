import ICAL from 'ical.js';
import { simpleParser, type ParsedMail } from 'mailparser';
import { sql } from 'kysely';
import type { CalendarEventService } from '../calendar/event.service.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import { defaultIcalLimits, type ParsedCalendarObject } from '../calendar/ical/index.ts';
import { workOwner } from '../calendar/ical-work/pool.ts';
import { param, prop, props, subs, text, values, type JComp } from '../calendar/ical/jcal.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { addressOf, allAttendees, itipView } from '../scheduling/itip.ts';
import type { Schedule } from '../scheduling/scheduler.ts';
import { openIntakeSchedule } from './intake-schedule.ts';
import { addressesOfAccount, findLiveEvent } from '../scheduling/scheduling.repository.ts';
import { calendarScope, inboxScope } from '../sync/scope-id.ts';
import { writeScopes, type ScopePublisher } from '../sync/scope-write.ts';
import type { ImipOut } from './imip-out.ts';
import { CalendarAttendant } from './calendar-attendant.ts';
import { ImipRefusal, type IngestResult } from './imip-refusal.ts';
import { canonicalRids } from './recurrence-ids.ts';

export { ImipRefusal, type IngestResult, type RefusalReason } from './imip-refusal.ts';

/**
 * iMIP in (RFC 6047; docs/protocol.md §Scheduling "People outside the
 * server"): one mail message from the LMTP door or `dmci itip-ingest`.
 * Checked before anything is applied (what Cyrus and Stalwart check):
 *
 * 1. the MTA's DMARC verdict is not `fail` (Authentication-Results);
 * 2. it carries a text/calendar part with METHOD REPLY, COUNTER or REFRESH
 *    and one UID (REQUEST and CANCEL from outside organizers go to the
 *    calendar attendant, calendar-attendant.ts, with their own checks);
 * 3. the event exists and its organizer is one of our accounts (found by
 *    UID and attendee: outlook.com's REPLY has no ORGANIZER; when one is
 *    given it must be that organizer);
 * 4. the sender (From) is the attendee, or their SENT-BY from the attendee's
 *    own domain, and that attendee is invited;
 * 5. SEQUENCE is not older than the organizer's;
 * 6. a REPLY changes only that attendee's PARTSTAT (nothing else is read from
 *    it), master and occurrences (RECURRENCE-ID, Windows TZIDs resolved),
 *    through the scheduler's answer path (Schedule.answerFromOutside) in ONE
 *    transaction: all of it or nothing.
 *
 * Anything else is refused with a reason (logged, counted, answered with the
 * status an MTA understands: 5xx permanent, 4xx try again later).
 */

export interface ImipInOptions {
  db: Db;
  log: Logger;
  publish: ScopePublisher;
  calendarEvents: Pick<CalendarEventService, 'prepare' | 'expandBookable'>;
  /** For REFRESH (a REQUEST again); absent when no SMTP server is configured. */
  imipOut: ImipOut | undefined;
  maxBytes: number;
  /** The default storage quota: copies the calendar attendant writes count toward their attendee's. */
  storageQuotaBytes: number;
  onResult?: (outcome: string) => void;
  clock?: () => Date;
}

const PARTSTATS = new Set(['ACCEPTED', 'DECLINED', 'TENTATIVE', 'DELEGATED', 'NEEDS-ACTION']);

interface Target {
  row: CalendarEventRow;
  ownerId: string;
  ownerDomainId: string;
  organizer: string;
}

export class ImipIn {
  private readonly attendant: CalendarAttendant;

  constructor(private readonly options: ImipInOptions) {
    this.attendant = new CalendarAttendant({
      db: options.db,
      log: options.log,
      publish: options.publish,
      prepare: (texts) => options.calendarEvents.prepare(texts, options.clock?.() ?? new Date(), workOwner.mail),
      expandBookable: options.calendarEvents.expandBookable(workOwner.mail),
      storageQuotaBytes: options.storageQuotaBytes,
    });
  }

  /**
   * Parses, checks and applies one message. Never throws for bad input: the
   * results say why. One result per envelope recipient (`recipients`, in
   * order; one when there are none): a REPLY, COUNTER or REFRESH gets the
   * same for all; a REQUEST or CANCEL (the calendar attendant) its own per
   * account, and a recipient that is no account here (a collecting address)
   * gets `applied` when any account's copy was written, else the first refusal.
   */
  async ingest(raw: Buffer, recipients: readonly string[] = []): Promise<IngestResult[]> {
    let results: IngestResult | PerRecipient;
    try {
      results = await this.apply(raw, recipients);
    } catch (error) {
      if (error instanceof ImipRefusal) results = { outcome: 'refused', refusal: error };
      else {
        this.options.log.error({ err: error }, 'iMIP message could not be applied');
        results = { outcome: 'refused', refusal: new ImipRefusal('unavailable', 'the calendar server could not apply the message now; try again later') };
      }
    }
    // Logged and counted once per message, or once per account the calendar attendant acted for.
    for (const result of 'each' in results ? results.each : [results]) {
      if (result.outcome === 'applied') this.options.log.info({ method: result.method, uid: result.uid, from: result.from, detail: result.detail }, 'iMIP message applied');
      else this.options.log.warn({ reason: result.refusal.reason, message: result.refusal.message }, 'iMIP message refused');
      this.options.onResult?.(result.outcome === 'applied' ? 'applied' : result.refusal.reason);
    }
    if ('each' in results) return results.byRecipient;
    const one = results;
    return Array.from({ length: Math.max(1, recipients.length) }, () => one);
  }

  private async apply(raw: Buffer, recipients: readonly string[]): Promise<IngestResult | PerRecipient> {
    if (raw.length > this.options.maxBytes) throw new ImipRefusal('too-large', `the message is larger than ${this.options.maxBytes} bytes`);
    let mail: ParsedMail;
    try {
      mail = await simpleParser(raw, { skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
    } catch {
      throw new ImipRefusal('malformed', 'the message is not a readable MIME message');
    }
    const auth = mail.headers.get('authentication-results');
    if (auth !== undefined && /\bdmarc=fail\b/i.test(String(auth))) throw new ImipRefusal('dmarc-fail', 'the message failed DMARC');
    const from = mail.from?.value[0]?.address?.toLowerCase();
    if (!from) throw new ImipRefusal('malformed', 'the message has no From address');
    const part = mail.attachments.find((a) => /^text\/calendar$/i.test(a.contentType)) ?? mail.attachments.find((a) => /^application\/ics$/i.test(a.contentType));
    if (!part) throw new ImipRefusal('no-calendar', 'the message carries no text/calendar part');
    if (part.content.length > defaultIcalLimits.maxBytes) throw new ImipRefusal('too-large', `the calendar part is larger than ${defaultIcalLimits.maxBytes} bytes`);
    const ics = part.content.toString('utf8');
    let root: JComp;
    try {
      root = ICAL.parse(ics) as unknown as JComp;
    } catch {
      throw new ImipRefusal('malformed', 'the calendar part is not valid iCalendar');
    }
    if (!Array.isArray(root) || root[0] !== 'vcalendar') throw new ImipRefusal('malformed', 'the calendar part is not a VCALENDAR');
    const method = (text(root, 'method') ?? '').toUpperCase();
    const events = subs(root, 'vevent');
    const uids = new Set(events.map((e) => text(e, 'uid')));
    if (events.length === 0 || uids.size !== 1 || !events[0] || !text(events[0], 'uid')) throw new ImipRefusal('malformed', 'the calendar part must hold VEVENTs of exactly one UID');
    const uid = text(events[0], 'uid')!;
    if (method === 'REQUEST' || method === 'CANCEL') {
      const addressed = [mail.to, mail.cc].flatMap((field) => (field === undefined ? [] : Array.isArray(field) ? field : [field])).flatMap((a) => a.value.map((v) => v.address ?? ''));
      const now = this.options.clock?.() ?? new Date();
      return perRecipient(await this.attendant.take({ method, ics, uid, from, recipients, addressed, now }), recipients);
    }
    if (method !== 'REPLY' && method !== 'COUNTER' && method !== 'REFRESH') {
      throw new ImipRefusal('unsupported-method', `METHOD ${method || '(none)'} is not taken from outside: dmci applies REPLY, COUNTER and REFRESH to meetings its accounts organize, and REQUEST and CANCEL to its accounts' copies`);
    }

    // Who answers: the one ATTENDEE of each component, the same in all of them.
    const attendeeLines = events.map((e) => props(e, 'attendee'));
    if (attendeeLines.some((lines) => lines.length !== 1)) throw new ImipRefusal('malformed', `a ${method} names exactly one ATTENDEE per component`);
    const attendee = addressOf(values(attendeeLines[0]![0]!)[0]);
    if (attendeeLines.some((lines) => addressOf(values(lines[0]!)[0]) !== attendee)) throw new ImipRefusal('malformed', `a ${method} answers for one attendee`);
    const sentBy = param(attendeeLines[0]![0]!, 'sent-by');
    const senderOk = from === attendee || (sentBy !== null && addressOf(sentBy) === from && from.split('@')[1] === attendee.split('@')[1]);
    if (!senderOk) throw new ImipRefusal('sender-mismatch', `the sender ${from} is not the attendee ${attendee} (nor their SENT-BY in the same domain)`);

    const organizerLine = events.map((e) => prop(e, 'organizer')).find(Boolean);
    const target = await this.findTarget(this.options.db, uid, attendee, organizerLine ? addressOf(values(organizerLine)[0]) : null);
    const sequence = Math.max(...events.map((e) => Number(text(e, 'sequence') ?? 0)).map((n) => (Number.isInteger(n) ? n : 0)));
    const now = this.options.clock?.() ?? new Date();

    if (method === 'REFRESH') {
      if (!this.options.imipOut) throw new ImipRefusal('unsupported-method', 'REFRESH needs outgoing mail, and no SMTP server is configured');
      await this.options.db.transaction().execute((trx) => this.options.imipOut!.refresh(trx, { ownerId: target.ownerId, organizerRow: target.row, attendee, now }));
      return { outcome: 'applied', method, uid, from, detail: `the invitation is sent again to ${attendee}` };
    }

    if (method === 'COUNTER') {
      const obj = await this.parse(ics, now);
      const event = obj?.master ?? obj?.overrides[0];
      if (!event) throw new ImipRefusal('malformed', 'the COUNTER does not say which time it proposes');
      const proposal = { start: event.start, end: event.end, comment: text(events[0], 'comment') };
      await this.write(target, now, async (schedule, trx, modseqs, row) => {
        this.checkSequence(row, sequence);
        await schedule.counterFromOutside(trx, modseqs, row, attendee, proposal);
      });
      return { outcome: 'applied', method, uid, from, detail: `a proposal from ${attendee} reached ${target.organizer}'s inbox` };
    }

    // REPLY: per component, the attendee's PARTSTAT; an occurrence by its RECURRENCE-ID in canonical form.
    const answers: Array<{ partstat: string; recurrenceId?: string }> = [];
    let canonical: Map<string, string> | undefined;
    for (const e of events) {
      const partstat = (param(prop(e, 'attendee')!, 'partstat') ?? '').toUpperCase();
      if (!PARTSTATS.has(partstat)) throw new ImipRefusal('malformed', `PARTSTAT ${partstat || '(none)'} is not an answer`);
      const rid = prop(e, 'recurrence-id');
      if (!rid) {
        answers.push({ partstat });
        continue;
      }
      canonical ??= canonicalRids(ics, await this.parse(ics, now));
      const recurrenceId = canonical.get(String(values(rid)[0]));
      if (!recurrenceId) throw new ImipRefusal('malformed', 'a RECURRENCE-ID of the reply could not be read (unknown time zone?)');
      answers.push({ partstat, recurrenceId });
    }
    await this.write(target, now, async (schedule, trx, modseqs, row) => {
      this.checkSequence(row, sequence);
      let current = row;
      for (const answer of answers) {
        const outcome = await schedule.answerFromOutside(trx, modseqs, current, attendee, answer);
        if ('code' in outcome) throw new ImipRefusal('unknown-event', outcome.message);
        current = (await findLiveEvent(trx, row.id))!;
      }
    });
    return { outcome: 'applied', method, uid, from, detail: answers.map((a) => `${a.partstat}${a.recurrenceId ? ` (${a.recurrenceId})` : ''}`).join(', ') };
  }

  /** The organizer's event this message is about: ours, not a copy, inviting `attendee` (and organized by `organizer` when the message names one). */
  private async findTarget(db: Db, uid: string, attendee: string, organizer: string | null): Promise<Target> {
    const { rows } = await sql<CalendarEventRow & { owner_id: string; owner_domain_id: string }>`
      select e.*, c.account_id as owner_id, a.domain_id as owner_domain_id
      from calendar_events e join calendars c on c.id = e.calendar_id join accounts a on a.id = c.account_id
      where e.uid = ${uid} and not e.deleted and e.ics is not null
        and not exists (select 1 from scheduled_copies s where s.event_id = e.id)
    `.execute(db);
    const found: Target[] = [];
    for (const row of rows) {
      const view = itipView(row.ics!);
      if (view.organizer === null || (organizer !== null && view.organizer !== organizer)) continue;
      if (!(await addressesOfAccount(db, row.owner_id)).has(view.organizer)) continue;
      found.push({ row, ownerId: row.owner_id, ownerDomainId: row.owner_domain_id, organizer: view.organizer });
    }
    // Unknown event and foreign organizer read alike: an outsider learns nothing about what exists here.
    if (found.length === 0) throw new ImipRefusal('unknown-event', `no meeting ${uid} organized on this server`);
    const invited = found.filter((t) => allAttendees(itipView(t.row.ics!)).has(attendee));
    if (invited.length === 0) throw new ImipRefusal('not-an-attendee', `${attendee} is not invited to ${uid}`);
    if (invited.length > 1) throw new ImipRefusal('unknown-event', `more than one meeting ${uid} here invites ${attendee}; name the ORGANIZER`);
    return invited[0]!;
  }

  private checkSequence(row: CalendarEventRow, sequence: number): void {
    const current = itipView(row.ics!).sequence;
    if (sequence < current) throw new ImipRefusal('stale-sequence', `the message answers SEQUENCE ${sequence}, but the meeting is at SEQUENCE ${current}`);
  }

  /**
   * The message's calendar object parsed in the calendar worker pool (an
   * outsider's text may carry costly recurrence rules: never on the event
   * loop), in the mail senders' one turn; null when it cannot be read.
   */
  private async parse(ics: string, now: Date): Promise<ParsedCalendarObject | null> {
    const [prepared] = await this.options.calendarEvents.prepare([ics], now, workOwner.mail);
    return prepared?.ok ? prepared.obj : null;
  }

  /**
   * One transaction on the organizer's calendar and inbox scopes and the
   * inboxes of their delegates who chose copies (`inboxCalendars`, found by
   * `scopes()` and checked again under the locks); the event re-read there.
   */
  private async write(target: Target, now: Date, work: (schedule: Schedule, trx: Db, modseqs: ReadonlyMap<string, number>, row: CalendarEventRow) => Promise<void>): Promise<void> {
    const { db, publish, calendarEvents } = this.options;
    const schedule = await openIntakeSchedule(db, {
      calendarId: target.row.calendar_id,
      ownerId: target.ownerId,
      ownerDomainId: target.ownerDomainId,
      now,
      prepare: (texts) => calendarEvents.prepare(texts, now, workOwner.mail),
      expandBookable: calendarEvents.expandBookable(workOwner.mail),
      imip: this.options.imipOut,
      answeredEvents: [target.row.id],
    });
    const extra = await schedule.scopes(db);
    await writeScopes(db, publish, async (writer) => {
      const modseqs = await writer.bumpAll([...new Set([calendarScope(target.row.calendar_id), inboxScope(target.ownerId), ...extra])]);
      // A delegate who opted in meanwhile: the MTA tries again (451), and then it is bumped too.
      await schedule.check(writer.trx, modseqs);
      const row = await findLiveEvent(writer.trx, target.row.id);
      if (!row?.ics) throw new ImipRefusal('unknown-event', `no meeting ${target.row.uid} organized on this server`);
      await work(schedule, writer.trx, modseqs, row);
    });
  }
}

/**
 * The calendar attendant's results (per account, by the address it reached)
 * per envelope recipient: a recipient that is one of those accounts gets its
 * own; any other (a collecting address) gets `applied` when some copy was
 * written (the detail says what happened to each), else the first refusal.
 */
interface PerRecipient {
  /** One per account the attendant acted for. */
  each: IngestResult[];
  /** One per envelope recipient, in order (one when there are none). */
  byRecipient: IngestResult[];
}

function perRecipient(taken: ReadonlyArray<{ recipient: string; result: IngestResult }>, recipients: readonly string[]): PerRecipient {
  const own = new Map(taken.map((t) => [t.recipient.toLowerCase(), t.result]));
  const applied = taken.filter((t) => t.result.outcome === 'applied');
  const combined: IngestResult =
    applied.length === 0
      ? taken[0]!.result
      : { ...(applied[0]!.result as Extract<IngestResult, { outcome: 'applied' }>), detail: taken.map((t) => (t.result.outcome === 'applied' ? t.result.detail : `${t.recipient}: not applied, ${t.result.refusal.message}`)).join('; ') };
  const each = taken.map((t) => t.result);
  if (recipients.length === 0) return { each, byRecipient: [taken.length === 1 ? taken[0]!.result : combined] };
  return { each, byRecipient: recipients.map((r) => own.get(r.toLowerCase()) ?? combined) };
}
