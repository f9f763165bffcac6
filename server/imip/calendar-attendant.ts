import { sql } from 'kysely';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import type { PreparedWrite } from '../calendar/ical-work/tasks.ts';
import type { ExpandBookable } from '../scheduling/room-booking-reach.ts';
import { param, prop, subs, text, values, type JComp, type JProp } from '../calendar/ical/jcal.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { StorageLedger } from '../quota/storage-ledger.ts';
import { addressOf, allAttendees, itipView, parseRoot, stringify } from '../scheduling/itip.ts';
import { Replan } from '../scheduling/scheduler.ts';
import { SchedulingLimits } from '../scheduling/scheduling-limits.ts';
import { addressesOfAccount, resolveRecipients } from '../scheduling/scheduling.repository.ts';
import { calendarScope, inboxScope } from '../sync/scope-id.ts';
import { writeScopes, type ScopePublisher } from '../sync/scope-write.ts';
import { outsideOf } from './imip-out.ts';
import { ImipRefusal, type IngestResult } from './imip-refusal.ts';
import { canonicalRids } from './recurrence-ids.ts';
import { recurrenceKeyer } from '../calendar/ical/recurrence-keys.ts';
import { openIntakeSchedule } from './intake-schedule.ts';

/**
 * The calendar attendant (Exchange's name for it; docs/operations.md "Mail
 * (iMIP)"): an iMIP REQUEST or CANCEL from an organizer outside the server,
 * for an account whose domain turned `calendarAttendant` on, writes that
 * account's copy and inbox message the way an internal invitation does
 * (Schedule.copyFromOutside / cancelFromOutside: the scheduler's one copy
 * writer), so the connector sees it like one. Off by default: the connector
 * also sees the invitation in the mailbox, and only one of the two may act
 * on it.
 *
 * Checked before anything is written (as for replies, imip-in.ts):
 * 1. the sender (From, after the MTA's DMARC verdict) is the ORGANIZER, or
 *    their SENT-BY from the organizer's own domain, and the organizer is
 *    outside the server;
 * 2. the accounts it is for: the envelope recipients that are accounts here,
 *    else (a copy routed to a collecting address, as the Postfix example
 *    does) the To and Cc addresses that are;
 * 3. per account: its domain has the attendant on; one of its addresses is
 *    an ATTENDEE; an event with this UID it already holds is organized by the
 *    same organizer; no component's SEQUENCE is older than the stored one.
 *
 * A REQUEST with the series (or a first one) replaces the copy; one with
 * occurrences only (RECURRENCE-ID) replaces or adds those occurrences. A
 * CANCEL of the series removes the copy; of occurrences, excludes them
 * (EXDATE, their overrides removed). Each account's copy is its own
 * transaction: all of it or nothing.
 */

export interface Invitation {
  method: 'REQUEST' | 'CANCEL';
  /** The calendar part as received. */
  ics: string;
  uid: string;
  /** The From address (lower case). */
  from: string;
  /** Envelope recipients: LMTP RCPT TO, or `dmci itip-ingest --recipient`. */
  recipients: readonly string[];
  /** The message's To and Cc addresses. */
  addressed: readonly string[];
  now: Date;
}

export interface AttendantOptions {
  db: Db;
  log: Logger;
  publish: ScopePublisher;
  /** Parses and plans texts in the calendar worker pool (the mail senders' turn). */
  prepare: (texts: string[]) => Promise<PreparedWrite[]>;
  /** Far occurrences of series a room books (the scheduler's booking check). */
  expandBookable: ExpandBookable;
  storageQuotaBytes: number;
}

type PreparedOk = Extract<PreparedWrite, { ok: true }>;

interface LocalAttendee {
  /** The address the message reached the account at. */
  recipient: string;
  accountId: string;
  domainId: string;
  domain: string;
  attendant: boolean;
  defaultCalendarId: string;
}

/** What one account's copy becomes. */
type CopyPlan =
  | { kind: 'request' | 'update' | 'cancel'; prepared: PreparedOk; recurrenceId: string | null; detail: string }
  | { kind: 'remove'; sequence: number; detail: string };

const domainOf = (address: string) => address.split('@')[1] ?? '';

export class CalendarAttendant {
  constructor(private readonly o: AttendantOptions) {}

  /** One result per account the message is for, with the address it reached that account at. */
  async take(m: Invitation): Promise<Array<{ recipient: string; result: IngestResult }>> {
    const events = subs(parseRoot(m.ics), 'vevent');
    const organizerLine = events.map((e) => prop(e, 'organizer')).find(Boolean);
    if (!organizerLine) throw new ImipRefusal('malformed', `a ${m.method} names its ORGANIZER`);
    const organizer = addressOf(values(organizerLine)[0]);
    const sentBy = param(organizerLine, 'sent-by');
    const senderOk = m.from === organizer || (sentBy !== null && addressOf(sentBy) === m.from && domainOf(m.from) === domainOf(organizer));
    if (!senderOk) throw new ImipRefusal('sender-mismatch', `the sender ${m.from} is not the organizer ${organizer} (nor their SENT-BY in the same domain)`);
    if ((await outsideOf(this.o.db, [organizer])).size === 0) throw new ImipRefusal('sender-mismatch', `the organizer ${organizer} is on this server: its invitations are scheduled here, not taken from mail`);
    const attendees = await this.localAttendees(m);
    if (attendees.length === 0) throw new ImipRefusal('unknown-recipient', `no account of this server is a recipient of this ${m.method}`);
    const [incoming] = await this.o.prepare([m.ics]);
    if (!incoming?.ok) throw new ImipRefusal('malformed', `the ${m.method} is not a calendar object dmci can store: ${incoming?.error.message ?? 'unreadable'}`);

    const out: Array<{ recipient: string; result: IngestResult }> = [];
    for (const a of attendees) {
      let result: IngestResult;
      try {
        result = { outcome: 'applied', method: m.method, uid: m.uid, from: m.from, detail: await this.takeFor(a, m, organizer, incoming) };
      } catch (error) {
        if (!(error instanceof ImipRefusal)) this.o.log.error({ err: error, recipient: a.recipient }, 'the calendar attendant could not write a copy');
        result = { outcome: 'refused', refusal: error instanceof ImipRefusal ? error : new ImipRefusal('unavailable', 'the calendar server could not apply the message now; try again later') };
      }
      out.push({ recipient: a.recipient, result });
    }
    return out;
  }

  /** The accounts among the envelope recipients, else among To and Cc (one each, in order). */
  private async localAttendees(m: Invitation): Promise<LocalAttendee[]> {
    const found = async (addresses: readonly string[]) => {
      const recipients = await resolveRecipients(this.o.db, [...new Set(addresses.map((a) => a.toLowerCase()))]);
      const accounts = [...recipients.values()].flatMap((r) => (r.kind === 'account' ? [r] : []));
      if (accounts.length === 0) return [];
      const { rows } = await sql<{ id: string; domain_id: string; name: string; calendar_attendant: boolean }>`
        select a.id, a.domain_id, d.name, d.calendar_attendant from accounts a join domains d on d.id = a.domain_id
         where a.id = any(${sql.val(accounts.map((r) => r.accountId))}::uuid[])`.execute(this.o.db);
      const byId = new Map(rows.map((r) => [r.id, r]));
      const seen = new Set<string>();
      return accounts.flatMap((r) => {
        const row = byId.get(r.accountId);
        if (!row || seen.has(r.accountId)) return [];
        seen.add(r.accountId);
        return [{ recipient: r.address, accountId: r.accountId, domainId: row.domain_id, domain: row.name, attendant: row.calendar_attendant, defaultCalendarId: r.calendarId }];
      });
    };
    const envelope = await found(m.recipients);
    return envelope.length > 0 ? envelope : found(m.addressed);
  }

  /** Checks and writes one account's copy (re-planned when it changed between reading and locking). */
  private async takeFor(a: LocalAttendee, m: Invitation, organizer: string, incoming: PreparedOk): Promise<string> {
    if (!a.attendant) throw new ImipRefusal('attendant-off', `the calendar attendant is off for ${a.domain}: ${a.recipient} gets this ${m.method} in the mailbox only`);
    const mine = await addressesOfAccount(this.o.db, a.accountId);
    for (let attempt = 0; attempt < SchedulingLimits.maxReplans; attempt++) {
      const stored = await storedCopy(this.o.db, a.accountId, m.uid);
      const { plan, address } = await this.plan(a, mine, m, organizer, incoming, stored);
      try {
        await this.write(a, address, stored, plan, m.now);
        return `${a.recipient}: ${plan.detail}`;
      } catch (error) {
        if (!(error instanceof Replan)) throw error;
      }
    }
    throw new ImipRefusal('unavailable', `the calendar of ${a.recipient} kept changing; try again later`);
  }

  private async plan(a: LocalAttendee, mine: ReadonlySet<string>, m: Invitation, organizer: string, incoming: PreparedOk, stored: CalendarEventRow | undefined): Promise<{ plan: CopyPlan; address: string }> {
    if (stored && itipView(stored.ics!).organizer !== organizer) throw new ImipRefusal('unknown-event', `${a.recipient} holds an event ${m.uid} that ${organizer} does not organize`);
    const listed = allAttendees(itipView(incoming.obj.text));
    // A CANCEL of the whole meeting may list nobody: then the copy says who was invited.
    const pool = m.method === 'CANCEL' && listed.size === 0 && stored ? allAttendees(itipView(stored.ics!)) : listed;
    const address = [...pool.keys()].find((x) => mine.has(x));
    if (!address) throw new ImipRefusal('not-an-attendee', `${a.recipient} is not an ATTENDEE of ${m.uid}`);
    if (stored) checkSequences(incoming.obj.text, stored.ics!);
    const incomingRoot = parseRoot(incoming.obj.text);
    const occurrences = subs(incomingRoot, 'vevent').flatMap((c) => {
      const rid = prop(c, 'recurrence-id');
      return rid ? [String(values(rid)[0])] : [];
    });
    const seriesToo = incoming.obj.master !== null;

    if (m.method === 'REQUEST') {
      if (seriesToo || !stored) {
        return { address, plan: { kind: stored ? 'update' : 'request', prepared: incoming, recurrenceId: seriesToo ? null : (occurrences[0] ?? null), detail: stored ? 'the copy is updated' : 'the invitation is in the calendar (tentative) and the inbox' } };
      }
      const merged = replaceOccurrences(stored.ics!, incomingRoot);
      return { address, plan: { kind: 'update', prepared: await this.prepared(merged), recurrenceId: occurrences[0] ?? null, detail: `the copy is updated (${occurrences.join(', ')})` } };
    }

    if (!stored) throw new ImipRefusal('unknown-event', `${a.recipient} holds no meeting ${m.uid} to cancel`);
    const sequence = itipView(incoming.obj.text).sequence;
    if (seriesToo) return { address, plan: { kind: 'remove', sequence, detail: 'the meeting is cancelled: the copy is removed' } };
    // Occurrences: matched by their canonical RECURRENCE-ID (time zones resolved, Windows names too).
    const cancelled = new Set(canonicalRids(incoming.obj.text, incoming.obj).values());
    const storedParse = await this.prepared(stored.ics!);
    const storedRids = canonicalRids(stored.ics!, storedParse.obj);
    const root = parseRoot(stored.ics!);
    const master = subs(root, 'vevent').find((c) => !prop(c, 'recurrence-id'));
    root[2] = root[2].filter((c) => {
      const rid = c[0].toLowerCase() === 'vevent' ? prop(c, 'recurrence-id') : undefined;
      return !rid || !cancelled.has(storedRids.get(String(values(rid)[0])) ?? '');
    });
    // Excluded from the series by their canonical instant (UTC; a date for all-day ones, RFC 5545 §3.8.5.1 allows either form).
    if (master) for (const recurrenceId of cancelled) master[1].push(exdateOf(recurrenceId));
    if (subs(root, 'vevent').length === 0) return { address, plan: { kind: 'remove', sequence, detail: 'every occurrence is cancelled: the copy is removed' } };
    return { address, plan: { kind: 'cancel', prepared: await this.prepared(stringify(root)), recurrenceId: occurrences[0] ?? null, detail: `occurrences cancelled (${occurrences.join(', ')})` } };
  }

  private async prepared(text: string): Promise<PreparedOk> {
    const [p] = await this.o.prepare([text]);
    if (!p?.ok) throw new ImipRefusal('malformed', `the updated copy would not be a valid calendar object: ${p?.error.message ?? 'unreadable'}`);
    return p;
  }

  /** One transaction on the copy's calendar, the account's inbox and its delegates' inboxes; the copy re-read under their locks. */
  private async write(a: LocalAttendee, address: string, stored: CalendarEventRow | undefined, plan: CopyPlan, now: Date): Promise<void> {
    const { db } = this.o;
    const calendarId = stored?.calendar_id ?? a.defaultCalendarId;
    const schedule = await openIntakeSchedule(db, { calendarId, ownerId: a.accountId, ownerDomainId: a.domainId, now, prepare: this.o.prepare, expandBookable: this.o.expandBookable, imip: undefined });
    const extra = await schedule.scopes(db);
    await writeScopes(db, this.o.publish, async (writer) => {
      const trx = writer.trx;
      const modseqs = await writer.bumpAll([...new Set([calendarScope(calendarId), inboxScope(a.accountId), ...extra])]);
      await schedule.check(trx, modseqs);
      const current = await storedCopy(trx, a.accountId, stored?.uid ?? planUid(plan));
      if (current?.id !== stored?.id || current?.version !== stored?.version) throw new Replan('the copy changed since it was read');
      const ledgers = await StorageLedger.openMany(trx, [a.accountId], this.o.storageQuotaBytes);
      schedule.useLedgers(ledgers);
      if (plan.kind === 'remove') await schedule.cancelFromOutside(trx, modseqs, { accountId: a.accountId, address, copy: stored!, sequence: plan.sequence });
      else await schedule.copyFromOutside(trx, modseqs, { accountId: a.accountId, address, calendarId, copyId: stored?.id, plan: plan.prepared, kind: plan.kind, recurrenceId: plan.recurrenceId });
      await StorageLedger.commitAll(trx, ledgers.values());
    });
  }
}

const planUid = (plan: CopyPlan) => (plan.kind === 'remove' ? '' : plan.prepared.obj.uid);

/** The live event with this UID in one of the account's calendars (the default calendar's first). */
async function storedCopy(db: Db, accountId: string, uid: string): Promise<CalendarEventRow | undefined> {
  return db
    .selectFrom('calendar_events as e')
    .innerJoin('calendars as c', 'c.id', 'e.calendar_id')
    .selectAll('e')
    .where('c.account_id', '=', accountId)
    .where('e.uid', '=', uid)
    .where('e.deleted', '=', false)
    .orderBy('c.is_default', 'desc')
    .executeTakeFirst();
}

/**
 * Which occurrence each VEVENT of a text is about, canonical (the one
 * recurrence keyer, ical/recurrence-keys.ts): an occurrence Outlook names in
 * the series' TZID and Google in UTC is one key, '' the series.
 */
function occurrenceKeys(root: JComp): Map<JComp, string> {
  try {
    const keyer = recurrenceKeyer(root);
    return new Map(subs(root, 'vevent').map((c) => [c, keyer.ridOf(c)]));
  } catch {
    throw new ImipRefusal('malformed', 'a RECURRENCE-ID names no time dmci can read');
  }
}

function sequences(ics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const [c, key] of occurrenceKeys(parseRoot(ics))) {
    const n = Number(text(c, 'sequence') ?? 0);
    out.set(key, Number.isInteger(n) ? n : 0);
  }
  return out;
}

/** Each component's SEQUENCE against the stored one of the same occurrence (else the stored series'): older is stale (RFC 5546 §2.1.5). */
function checkSequences(incoming: string, stored: string): void {
  const before = sequences(stored);
  for (const [rid, sequence] of sequences(incoming)) {
    const current = before.get(rid) ?? before.get('');
    if (current !== undefined && sequence < current) throw new ImipRefusal('stale-sequence', `the message is at SEQUENCE ${sequence}, but the copy is at SEQUENCE ${current}`);
  }
}

/** The stored copy with the incoming occurrences in place of its own (matched canonically, however each writes RECURRENCE-ID) or added, and the time zones they name. */
function replaceOccurrences(storedIcs: string, incoming: JComp): string {
  const root = parseRoot(storedIcs);
  const events = subs(incoming, 'vevent');
  const replaced = new Set(occurrenceKeys(incoming).values());
  const stored = occurrenceKeys(root);
  root[2] = root[2].filter((c) => c[0].toLowerCase() !== 'vevent' || !replaced.has(stored.get(c)!));
  const zones = new Set(subs(root, 'vtimezone').map((z) => text(z, 'tzid')));
  root[2].unshift(...subs(incoming, 'vtimezone').filter((z) => !zones.has(text(z, 'tzid'))));
  root[2].push(...events);
  return stringify(root);
}

/** An EXDATE for an occurrence from its canonical recurrence id (ical/types.ts: UTC '…Z', 'YYYYMMDD' all-day, local when floating). */
function exdateOf(recurrenceId: string): JProp {
  const digits = /^(\d{4})(\d{2})(\d{2})(?:T(\d{2})(\d{2})(\d{2})(Z?))?$/.exec(recurrenceId);
  if (!digits) throw new ImipRefusal('malformed', `the RECURRENCE-ID ${recurrenceId} cannot be excluded`);
  const [, y, mo, d, h, mi, se, z] = digits;
  return h === undefined ? ['exdate', {}, 'date', `${y}-${mo}-${d}`] : ['exdate', {}, 'date-time', `${y}-${mo}-${d}T${h}:${mi}:${se}${z}`];
}
