import ICAL from 'ical.js';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, meeting } from '../scheduling/helpers.ts';
import { eventually, TestMta } from './mta.ts';

/**
 * iMIP out per occurrence (RFC 6638 §3.2.1, RFC 5546 §3.2.2): an outside
 * attendee added to some occurrences alone gets a REQUEST with only those
 * occurrences, one removed from some occurrences gets them cancelled, and one
 * on the series but not on an occurrence gets the series with that
 * occurrence excluded — read from what the real SMTP receiver got, with ical.js.
 */
let server: TestServer;
let mta: TestMta;
let alice: DmciClient;
let aliceCal: string;

const A = 'alice@occ.test';
const CAROL = 'carol@customer.example';
const DAVE = 'dave@partner.example';
const ERIN = 'erin@vendor.example';
const UID = 'weekly@occ.test';

/** An override of the weekly series (UTC times) with these attendees. */
const occurrence = (day: string, attendees: string[], uid = UID) => [
  `UID:${uid}`,
  'DTSTAMP:20261001T000000Z',
  `ORGANIZER:mailto:${A}`,
  'SUMMARY:Weekly',
  'SEQUENCE:0',
  `RECURRENCE-ID:202612${day}T100000Z`,
  `DTSTART:202612${day}T100000Z`,
  `DTEND:202612${day}T110000Z`,
  ...attendees.map((a) => `ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${a}`),
];
const series = (overrides: string[][], attendees = [CAROL], uid = UID) => meeting({ uid, organizer: A, attendees, summary: 'Weekly', rrule: 'FREQ=WEEKLY;COUNT=4', overrides });

/** The `count`-th message to `address` (1-based), its METHOD and VEVENTs as ical.js reads them. */
async function nth(address: string, count: number) {
  const mail = await eventually(() => mta.to(address)[count - 1], `message ${count} to ${address}`);
  const parsed = await simpleParser(mail.raw);
  const part = parsed.attachments.find((a) => /text\/calendar/.test(a.contentType))!;
  const root = new ICAL.Component(ICAL.parse(part.content.toString('utf8')));
  const events = root.getAllSubcomponents('vevent');
  return {
    method: root.getFirstPropertyValue('method'),
    events,
    rids: events.map((e) => e.getFirstPropertyValue('recurrence-id')?.toString() ?? ''),
    attendees: events.map((e) => e.getAllProperties('attendee').map((p) => String(p.getFirstValue()).replace(/^mailto:/i, ''))),
  };
}

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
  server = await startTestServer({ DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100' });
  await server.createAccount(A);
  alice = await server.connect(A, undefined, { requestTimeoutMs: 60_000 });
  aliceCal = await defaultCalendar(alice);
});
afterAll(async () => {
  await server.stop();
  await mta.stop();
});

describe('iMIP out per occurrence', () => {
  it('an outsider added to one occurrence gets only that occurrence; the series attendee gets the series and the occurrence', async () => {
    const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: series([occurrence('08', [CAROL, DAVE])]) } } });
    expect(created.created.m).toBeDefined();
    const dave = await nth(DAVE, 1);
    expect(dave.method).toBe('REQUEST');
    expect(dave.rids).toEqual(['2026-12-08T10:00:00Z']);
    expect(dave.events[0]!.getFirstPropertyValue('rrule')).toBeNull();
    const carol = await nth(CAROL, 1);
    expect(carol.rids).toEqual(['', '2026-12-08T10:00:00Z']);
    expect(carol.events[0]!.getFirstPropertyValue('rrule')).not.toBeNull();
  });

  it('moved from one occurrence to another: the lost one is cancelled alone; the series attendee left out of one gets it excluded', async () => {
    const id = (await eventsOf(alice, aliceCal)).find((e) => e.uid === UID)!.id;
    // Dave leaves the 8th and joins the 15th, which Carol does not attend.
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: series([occurrence('08', [CAROL]), occurrence('15', [DAVE])]) } } });
    const daveRequest = await eventually(async () => {
      const all = await Promise.all(mta.to(DAVE).map((_, i) => nth(DAVE, i + 1)));
      return all.length >= 3 ? all : undefined;
    }, 'a REQUEST and a CANCEL to dave');
    const request = daveRequest.find((m, i) => i > 0 && m.method === 'REQUEST')!;
    expect(request.rids).toEqual(['2026-12-15T10:00:00Z']);
    const cancel = daveRequest.find((m) => m.method === 'CANCEL')!;
    expect(cancel.rids).toEqual(['2026-12-08T10:00:00Z']);
    expect(cancel.attendees).toEqual([[DAVE]]);
    expect(cancel.events[0]!.getFirstPropertyValue('status')).toBe('CANCELLED');

    const carol = await nth(CAROL, 2);
    expect(carol.rids).toEqual(['', '2026-12-08T10:00:00Z']);
    expect(carol.events[0]!.getFirstProperty('exdate')!.getFirstValue()!.toString()).toBe('2026-12-15T10:00:00Z');

    // Dave removed altogether: his last occurrence is cancelled, not the series he never had.
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: series([occurrence('08', [CAROL])]) } } });
    const last = await nth(DAVE, 4);
    expect(last.method).toBe('CANCEL');
    expect(last.rids).toEqual(['2026-12-15T10:00:00Z']);
    expect(last.attendees).toEqual([[DAVE]]);
  });

  it('moved from the series to one occurrence: a CANCEL of the series, then (in that order) a REQUEST of that occurrence alone', async () => {
    const uid = 'moved@occ.test';
    const created = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: series([], [CAROL, ERIN], uid) } } });
    const id = created.created.m!.id;
    expect((await nth(ERIN, 1)).rids).toEqual(['']);
    // Erin now attends only the 15th: the series is Carol's.
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: series([occurrence('15', [CAROL, ERIN], uid)], [CAROL], uid) } } });
    const cancel = await nth(ERIN, 2);
    expect(cancel.method).toBe('CANCEL');
    expect(cancel.rids).toEqual(['']);
    expect(cancel.attendees).toEqual([[ERIN]]);
    expect(cancel.events[0]!.getFirstPropertyValue('status')).toBe('CANCELLED');
    const request = await nth(ERIN, 3);
    expect(request.method).toBe('REQUEST');
    expect(request.rids).toEqual(['2026-12-15T10:00:00Z']);
    expect(request.events[0]!.getFirstPropertyValue('rrule')).toBeNull();
    // Both queued in one transaction; the REQUEST was sent only once the CANCEL was (seq order per recipient and UID).
    const rows = await server.app.db.selectFrom('imip_outbox').select(['method', 'seq', 'sent_at']).where('recipient', '=', ERIN).where('uid', '=', uid).orderBy('seq').execute();
    expect(rows.map((r) => r.method)).toEqual(['REQUEST', 'CANCEL', 'REQUEST']);
    expect(rows[2]!.sent_at!.getTime()).toBeGreaterThanOrEqual(rows[1]!.sent_at!.getTime());
    // Carol stays on the series: no CANCEL for her.
    expect((await Promise.all(mta.to(CAROL).map((_, i) => nth(CAROL, i + 1)))).filter((m) => m.method === 'CANCEL')).toEqual([]);
  });
});
