import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { answerInvitation, InboxReplica } from '../../connector-sim/scheduling.ts';
import type { InboxMessage } from '../../protocol/index.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { REPO_ROOT, runBin } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, partstatOf } from '../scheduling/helpers.ts';
import { eventually, TestMta } from './mta.ts';

/**
 * The calendar attendant (issue 11 item 2): a REQUEST or CANCEL from an
 * organizer outside the server, delivered through the LMTP door, writes the
 * local attendee's copy (tentative) and an inbox message when the attendee's
 * domain turned it on — as Gmail and Outlook write them — and is refused with
 * the status an MTA understands otherwise. The attendee's answer goes out by
 * the outbox to the real SMTP receiver.
 */
let server: TestServer;
let mta: TestMta;
let alice: DmciClient;
let bob: DmciClient;
let dora: DmciClient;
let aliceCal: string;
let bobCal: string;
let replica: InboxReplica;
const pushed: InboxMessage[] = [];

const A = 'alice@att.test';
const B = 'bob@att.test';
const DORA = 'dora@att.test';
const OLGA = 'olga@off.test';
const CAROL = 'carol@customer.example';
const DAVE = 'dave@partner.example';
const OUTLOOK_UID = '040000008200E00074C5B7101A82E00800000000B0F7B1D2A1BFD801000000000000000010000000';

const fixture = (name: string) => readFileSync(`${REPO_ROOT}/test/fixtures/imip/${name}.eml`, 'utf8');
const google = () => fixture('gmail-request');
const outlook = () => fixture('outlook-request-weekly');

/** What the MTA does: deliver over LMTP to these recipients; the server's reply for the (first) recipient. */
async function lmtp(raw: string, to: string[]): Promise<{ ok: boolean; code: number; response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.app.lmtpPort!, lmtp: true, ignoreTLS: true } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    const info = await transport.sendMail({ envelope: { from: 'bounce@mx.example', to }, raw });
    const response = String(info.response);
    const code = Number(/^(\d{3}) /.exec(response)?.[1] ?? 0);
    return { ok: code < 400, code, response };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

const copyOf = async (client: DmciClient, calendarId: string, uid: string) => (await eventsOf(client, calendarId)).find((e) => e.uid === uid);
const inboxAbout = async (client: DmciClient, uid: string) => (await inboxOf(client)).filter((m) => m.uid === uid);

/** The Gmail invitation changed as Google changes it: a new time and SEQUENCE, or another sender. */
function googleWith(o: { sequence?: number; start?: string; end?: string; from?: string }): string {
  let raw = google();
  if (o.sequence !== undefined) raw = raw.replace('SEQUENCE:0', `SEQUENCE:${o.sequence}`);
  if (o.start) raw = raw.replace('DTSTART:20261203T140000Z', `DTSTART:${o.start}`);
  if (o.end) raw = raw.replace('DTEND:20261203T150000Z', `DTEND:${o.end}`);
  if (o.from) raw = raw.replace('From: Carol Customer <carol@customer.example>', `From: ${o.from}`);
  return raw;
}

/** The Outlook series' calendar part, to cut per-occurrence messages from. */
function outlookCalendar(): { head: string; vevent: string } {
  const raw = outlook();
  const cal = raw.slice(raw.indexOf('BEGIN:VCALENDAR'), raw.indexOf('END:VCALENDAR') + 'END:VCALENDAR'.length);
  const vevent = cal.slice(cal.indexOf('BEGIN:VEVENT'), cal.indexOf('END:VEVENT') + 'END:VEVENT'.length);
  return { head: cal.slice(0, cal.indexOf('BEGIN:VEVENT')), vevent };
}

/** One occurrence of the Outlook series as Outlook sends it alone (moved, or cancelled). */
function outlookOccurrence(method: 'REQUEST' | 'CANCEL', at: string, o: { start?: string; sequence: number }): string {
  const { head, vevent } = outlookCalendar();
  const start = o.start ?? at;
  const hour = Number(start.slice(9, 11));
  const end = `${start.slice(0, 9)}${String(hour + 1).padStart(2, '0')}${start.slice(11)}`;
  const occurrence = vevent
    .replace(/^RRULE:.*\r?\n/m, '')
    .replace(/^DTSTART;TZID=W\. Europe Standard Time:\d{8}T\d{6}/m, `RECURRENCE-ID;TZID=W. Europe Standard Time:${at}\nDTSTART;TZID=W. Europe Standard Time:${start}`)
    .replace(/^DTEND;TZID=W\. Europe Standard Time:\d{8}T\d{6}/m, `DTEND;TZID=W. Europe Standard Time:${end}`)
    .replace('SEQUENCE:0', `SEQUENCE:${o.sequence}`)
    .replace('STATUS:CONFIRMED', method === 'CANCEL' ? 'STATUS:CANCELLED' : 'STATUS:CONFIRMED');
  const calendar = `${head.replace('METHOD:REQUEST', `METHOD:${method}`)}${occurrence}\nEND:VCALENDAR`;
  return [
    'From: Dave Partner <dave@partner.example>',
    'To: Bob Example <bob@att.test>, Alice Example <alice@att.test>',
    `Subject: ${method === 'CANCEL' ? 'Canceled' : 'Updated'}: Weekly review`,
    'MIME-Version: 1.0',
    `Content-Type: text/calendar; charset="utf-8"; method=${method}`,
    '',
    calendar,
    '',
  ].join('\n');
}

/** The calendar part of a received mail, its quoted-printable soft breaks undone and its folded lines unfolded. */
const calendarOf = (raw: string) => raw.slice(raw.indexOf('BEGIN:VCALENDAR'), raw.indexOf('END:VCALENDAR') + 13).replace(/=\r?\n/g, '').replace(/\r?\n[ \t]/g, '');

async function instancesOf(client: DmciClient, calendarId: string, uid: string) {
  const { instances } = await client.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-11-01T00:00:00Z', to: '2027-02-01T00:00:00Z' });
  return instances.filter((i) => i.uid === uid);
}

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
  server = await startTestServer({ DMCI_LMTP_PORT: '0', DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100' });
  for (const email of [A, B, DORA, OLGA]) await server.createAccount(email);
  alice = await server.connect(A, undefined, { requestTimeoutMs: 60_000 });
  bob = await server.connect(B, undefined, { requestTimeoutMs: 60_000 });
  dora = await server.connect(DORA, undefined, { requestTimeoutMs: 60_000 });
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  // Dora is Bob's delegate and chose copies of his scheduling messages.
  await bob.request('Calendar/set', { update: { [bobCal]: { shareWith: { [DORA]: { right: 'write', delegate: true } } } } });
  await dora.request('Inbox/delegateCopies', { calendarId: bobCal, enabled: true });
  // Alice's connector follows her inbox as a connector does (full sync, then pushes).
  replica = new InboxReplica(alice);
  replica.onMessage((m) => pushed.push(m));
  await replica.start();
});
afterAll(async () => {
  replica.stop();
  await server.stop();
  await mta.stop();
});

describe('the calendar attendant', () => {
  it('is off by default: an invitation from outside is refused for good and writes nothing', async () => {
    const refused = await lmtp(google(), [A]);
    expect(refused).toMatchObject({ ok: false, code: 550 });
    expect(refused.response).toMatch(/5\.7\.1 the calendar attendant is off for att\.test/);
    expect(await copyOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com')).toBeUndefined();
    expect(await inboxAbout(alice, 'kickoff-0a1b2c3d@google.com')).toEqual([]);
  });

  it('is turned on per domain with `dmci domain set --calendar-attendant on`, and listed', async () => {
    const set = await runBin('dmci', ['--json', 'domain', 'set', 'att.test', '--calendar-attendant', 'on'], { env: { DATABASE_URL: server.databaseUrl } });
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ name: 'att.test', calendarAttendant: true, crossDomainSharing: false });
    const listed = await server.app.services.domains.list(systemActor);
    expect(listed.find((d) => d.name === 'off.test')).toMatchObject({ calendarAttendant: false });
    // Over the protocol: a global admin sets it (and only what is named changes); naming nothing is refused.
    await server.createAccount('root@off.test', undefined, 'global_admin');
    const root = await server.connect('root@off.test');
    expect((await root.request('Admin/domainUpdate', { name: 'off.test', calendarAttendant: true })).domain).toMatchObject({ calendarAttendant: true, crossDomainSharing: false });
    expect((await root.request('Admin/domainUpdate', { name: 'off.test', calendarAttendant: false })).domain).toMatchObject({ calendarAttendant: false });
    await expect(root.request('Admin/domainUpdate', { name: 'off.test' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await root.close();
    const none = await runBin('dmci', ['domain', 'set', 'att.test'], { env: { DATABASE_URL: server.databaseUrl } });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--calendar-attendant/);
  }, 120_000);

  it("Gmail's REQUEST: Alice's copy (tentative, Google's X- properties kept) and a request in her inbox, pushed to her connector", async () => {
    const result = await lmtp(google(), [A]);
    expect(result, result.response).toMatchObject({ ok: true });
    expect(result.response).toMatch(/applied: alice@att\.test: the invitation is in the calendar/);
    const copy = (await copyOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com'))!;
    expect(partstatOf(copy.ics, A)).toBe('NEEDS-ACTION');
    expect(copy.ics).toMatch(/X-GOOGLE-CONFERENCE:https:\/\/meet\.google\.com\/abc-defg-hij/);
    expect(copy.ics).not.toMatch(/METHOD:/);
    const [instance] = await instancesOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com');
    expect(instance).toMatchObject({ busyType: 'BUSY-TENTATIVE', start: '2026-12-03T14:00:00.000Z' });
    const message = await eventually(() => pushed.find((m) => m.uid === 'kickoff-0a1b2c3d@google.com'), 'the request pushed to her connector');
    expect(message).toMatchObject({ kind: 'request', from: CAROL, calendarId: aliceCal, eventId: copy.id, summary: 'Kick-off', sequence: 0 });
  });

  it('her answer goes back to the organizer by mail (a REPLY through the outbox)', async () => {
    const copy = (await copyOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com'))!;
    const accepted = copy.ics.replace(/PARTSTAT=NEEDS-ACTION(;RSVP=TRUE)?((?:;[^:\r\n]*)?(?:\r\n )?[^\r\n]*mailto:alice@att\.test)/, 'PARTSTAT=ACCEPTED$2');
    expect(partstatOf(accepted, A)).toBe('ACCEPTED');
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [copy.id]: { ics: accepted } } });
    expect(result.updated[copy.id]).toBeDefined();
    const reply = await eventually(() => mta.to(CAROL).find((m) => /method=REPLY/i.test(m.raw)), 'the REPLY reaches carol');
    const calendar = reply.raw.slice(reply.raw.indexOf('BEGIN:VCALENDAR'), reply.raw.indexOf('END:VCALENDAR') + 13).replace(/=\r?\n/g, '');
    expect(calendar).toMatch(/PARTSTAT=ACCEPTED/);
    expect(calendar).toMatch(/mailto:alice@att\.test/);
  });

  it('an update with a higher SEQUENCE moves the copy; a stale one and a spoofed sender are refused and change nothing', async () => {
    const moved = await lmtp(googleWith({ sequence: 1, start: '20261203T160000Z', end: '20261203T170000Z' }), [A]);
    expect(moved, moved.response).toMatchObject({ ok: true });
    const copy = (await copyOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com'))!;
    expect(copy.ics).toMatch(/DTSTART:20261203T160000Z/);
    expect((await inboxAbout(alice, 'kickoff-0a1b2c3d@google.com')).map((m) => m.kind).sort()).toEqual(['request', 'update']);

    const stale = await lmtp(googleWith({ sequence: 0, start: '20261203T080000Z', end: '20261203T090000Z' }), [A]);
    expect(stale).toMatchObject({ ok: false, code: 550 });
    expect(stale.response).toMatch(/5\.7\.0 the message is at SEQUENCE 0, but the copy is at SEQUENCE 1/);
    const spoofed = await lmtp(googleWith({ sequence: 5, start: '20261203T080000Z', end: '20261203T090000Z', from: 'Mallory <mallory@evil.example>' }), [A]);
    expect(spoofed).toMatchObject({ ok: false, code: 550 });
    expect(spoofed.response).toMatch(/5\.7\.1 the sender mallory@evil\.example is not the organizer carol@customer\.example/);
    const notInvited = await lmtp(google().replace('To: alice@att.test', 'To: bob@att.test'), [B]);
    expect(notInvited).toMatchObject({ ok: false, code: 550 });
    expect(notInvited.response).toMatch(/5\.7\.1 bob@att\.test is not an ATTENDEE/);
    const nobody = await lmtp(google().replace('To: alice@att.test', 'To: nobody@att.test'), ['nobody@att.test']);
    expect(nobody).toMatchObject({ ok: false, code: 550 });
    expect(nobody.response).toMatch(/5\.1\.1 no account of this server is a recipient/);
    const off = await lmtp(google().replace(/alice@att\.test/g, OLGA), [OLGA]);
    expect(off.response).toMatch(/5\.7\.1 the calendar attendant is off for off\.test/);

    expect((await copyOf(alice, aliceCal, 'kickoff-0a1b2c3d@google.com'))!.version).toBe(copy.version);
    expect(await copyOf(bob, bobCal, 'kickoff-0a1b2c3d@google.com')).toBeUndefined();
    const metrics = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="stale-sequence"\} 1/);
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="sender-mismatch"\} 1/);
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="attendant-off"\} 2/);
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="unknown-recipient"\} 1/);
  });

  it("Outlook's weekly series with a Windows TZID, routed to a collecting address: both addressees get copies; Bob's delegate a copy of his message", async () => {
    const result = await lmtp(outlook(), ['imip@dmci.invalid']);
    expect(result, result.response).toMatchObject({ ok: true });
    expect(result.response).toMatch(/bob@att\.test: the invitation is in the calendar/);
    expect(result.response).toMatch(/alice@att\.test: the invitation is in the calendar/);
    const instances = await instancesOf(bob, bobCal, OUTLOOK_UID);
    expect(instances).toHaveLength(6);
    // 10:00 in Berlin in December is 09:00 UTC.
    expect(instances[0]).toMatchObject({ start: '2026-12-01T09:00:00.000Z', busyType: 'BUSY-TENTATIVE' });
    expect(await instancesOf(alice, aliceCal, OUTLOOK_UID)).toHaveLength(6);
    expect((await inboxOf(dora)).find((m) => m.uid === OUTLOOK_UID)).toMatchObject({ kind: 'request', onBehalfOf: B, from: DAVE });
    // Counted once per account the attendant acted for: Gmail's request and its update, then these two.
    expect(await (await fetch(`${server.opsUrl}/metrics`)).text()).toMatch(/dmci_imip_inbound_total\{outcome="applied"\} 4/);
  });

  it("the reply shortcut on the attendant's copy (as a connector answers): a REPLY by mail to the outside organizer, the copy showing the answer", async () => {
    const copy = (await copyOf(alice, aliceCal, OUTLOOK_UID))!;
    const mailed = (text: RegExp) => mta.to(DAVE).find((m) => /method=REPLY/i.test(m.raw) && text.test(calendarOf(m.raw)));
    await answerInvitation(alice, aliceCal, copy.id, 'ACCEPTED', { sequence: 0 });
    const accepted = calendarOf((await eventually(() => mailed(/PARTSTAT=ACCEPTED/), 'the REPLY reaches dave')).raw);
    expect(accepted).toMatch(/METHOD:REPLY/);
    expect(accepted).toMatch(/mailto:alice@att\.test/);
    expect(accepted).not.toMatch(/mailto:bob@att\.test/);
    expect(accepted).not.toMatch(/RECURRENCE-ID/);
    const answered = (await copyOf(alice, aliceCal, OUTLOOK_UID))!;
    expect(partstatOf(answered.ics, A)).toBe('ACCEPTED');

    // One occurrence declined alone: a REPLY with its RECURRENCE-ID.
    const occurrence = (await instancesOf(alice, aliceCal, OUTLOOK_UID)).find((i) => i.start === '2026-12-22T09:00:00.000Z')!;
    await answerInvitation(alice, aliceCal, copy.id, 'DECLINED', { recurrenceId: occurrence.recurrenceId! });
    const declined = calendarOf((await eventually(() => mailed(/PARTSTAT=DECLINED/), 'the per-occurrence REPLY reaches dave')).raw);
    expect(declined).toMatch(/RECURRENCE-ID;TZID=W\. Europe Standard Time:20261222T100000/);
    expect((await instancesOf(alice, aliceCal, OUTLOOK_UID)).find((i) => i.start === '2026-12-22T09:00:00.000Z')).toMatchObject({ busyType: 'FREE' });
    // Bob's copy of the same invitation is his own: untouched.
    expect(partstatOf((await copyOf(bob, bobCal, OUTLOOK_UID))!.ics, B)).toBe('NEEDS-ACTION');
  });

  it('a per-occurrence REQUEST moves one occurrence; a per-occurrence CANCEL removes another; a CANCEL of the series removes the copy', async () => {
    const moved = await lmtp(outlookOccurrence('REQUEST', '20261208T100000', { start: '20261208T140000', sequence: 1 }), [B]);
    expect(moved, moved.response).toMatchObject({ ok: true });
    let instances = await instancesOf(bob, bobCal, OUTLOOK_UID);
    expect(instances).toHaveLength(6);
    expect(instances.find((i) => i.start === '2026-12-08T13:00:00.000Z')).toMatchObject({ isOverride: true, busyType: 'BUSY-TENTATIVE' });
    expect(instances.find((i) => i.start === '2026-12-08T09:00:00.000Z')).toBeUndefined();
    // Only Bob was the envelope recipient: Alice's copy is untouched.
    expect((await instancesOf(alice, aliceCal, OUTLOOK_UID)).find((i) => i.start === '2026-12-08T09:00:00.000Z')).toBeDefined();
    // The same occurrence moved again, its RECURRENCE-ID written in UTC (as Google writes it) while the series and the
    // stored override use the Windows TZID: matched canonically, it replaces that override (no second one).
    const inUtc = outlookOccurrence('REQUEST', '20261208T100000', { start: '20261208T150000', sequence: 2 })
      .replace('RECURRENCE-ID;TZID=W. Europe Standard Time:20261208T100000', 'RECURRENCE-ID:20261208T090000Z')
      .replace('DTSTART;TZID=W. Europe Standard Time:20261208T150000', 'DTSTART:20261208T140000Z')
      .replace('DTEND;TZID=W. Europe Standard Time:20261208T160000', 'DTEND:20261208T150000Z');
    expect(inUtc).toMatch(/RECURRENCE-ID:20261208T090000Z/);
    const movedInUtc = await lmtp(inUtc, [B]);
    expect(movedInUtc, movedInUtc.response).toMatchObject({ ok: true });
    instances = await instancesOf(bob, bobCal, OUTLOOK_UID);
    expect(instances).toHaveLength(6);
    expect(instances.find((i) => i.start === '2026-12-08T14:00:00.000Z')).toMatchObject({ isOverride: true });
    expect(instances.find((i) => i.start === '2026-12-08T13:00:00.000Z')).toBeUndefined();
    expect(new ICAL.Component(ICAL.parse((await copyOf(bob, bobCal, OUTLOOK_UID))!.ics)).getAllSubcomponents('vevent')).toHaveLength(2);
    // An older SEQUENCE for that occurrence, in the TZID form, is stale against the override written in UTC.
    const stale = await lmtp(outlookOccurrence('REQUEST', '20261208T100000', { start: '20261208T120000', sequence: 1 }), [B]);
    expect(stale).toMatchObject({ ok: false, code: 550 });
    expect(stale.response).toMatch(/SEQUENCE 1, but the copy is at SEQUENCE 2/);

    const cancelled = await lmtp(outlookOccurrence('CANCEL', '20261215T100000', { sequence: 1 }), [B]);
    expect(cancelled, cancelled.response).toMatchObject({ ok: true });
    instances = await instancesOf(bob, bobCal, OUTLOOK_UID);
    expect(instances).toHaveLength(5);
    expect(instances.find((i) => i.start === '2026-12-15T09:00:00.000Z')).toBeUndefined();
    const copy = (await copyOf(bob, bobCal, OUTLOOK_UID))!;
    expect(copy.ics.replace(/\r\n[ \t]/g, '')).toMatch(/EXDATE:20261215T090000Z/);
    expect((await inboxAbout(bob, OUTLOOK_UID)).find((m) => m.kind === 'cancel')).toMatchObject({ recurrenceId: '2026-12-15T10:00:00', eventId: copy.id });

    // The moved occurrence cancelled too: its override goes with it.
    expect(await lmtp(outlookOccurrence('CANCEL', '20261208T100000', { sequence: 2 }), [B])).toMatchObject({ ok: true });
    expect(await instancesOf(bob, bobCal, OUTLOOK_UID)).toHaveLength(4);
    expect(new ICAL.Component(ICAL.parse((await copyOf(bob, bobCal, OUTLOOK_UID))!.ics)).getAllSubcomponents('vevent')).toHaveLength(1);

    const { head, vevent } = outlookCalendar();
    const cancelAll = ['From: Dave Partner <dave@partner.example>', 'To: bob@att.test', 'MIME-Version: 1.0', 'Content-Type: text/calendar; method=CANCEL', '', `${head.replace('METHOD:REQUEST', 'METHOD:CANCEL')}${vevent.replace('SEQUENCE:0', 'SEQUENCE:3').replace('STATUS:CONFIRMED', 'STATUS:CANCELLED')}\nEND:VCALENDAR`, ''].join('\n');
    expect(await lmtp(cancelAll, [B])).toMatchObject({ ok: true });
    expect(await copyOf(bob, bobCal, OUTLOOK_UID)).toBeUndefined();
    expect((await inboxAbout(bob, OUTLOOK_UID)).filter((m) => m.kind === 'cancel')).toHaveLength(3);
    expect((await inboxOf(dora)).filter((m) => m.uid === OUTLOOK_UID && m.kind === 'cancel')).toHaveLength(3);
    // Nothing left to cancel: refused, not applied.
    const again = await lmtp(cancelAll, [B]);
    expect(again).toMatchObject({ ok: false, code: 550 });
    expect(again.response).toMatch(/5\.7\.0 bob@att\.test holds no meeting/);
  });

  it('through the pipe: `dmci itip-ingest --recipient` names the account the MTA delivers to', async () => {
    const raw = google().replace(/kickoff-0a1b2c3d@google\.com/g, 'piped-0a1b2c3d@google.com').replace(/alice@att\.test/g, B);
    const piped = await runBin('dmci', ['--json', 'itip-ingest', '--recipient', B], { env: { DATABASE_URL: server.databaseUrl, DMCI_SMTP_URL: mta.url }, input: raw });
    expect(piped.code, piped.stderr).toBe(0);
    expect(JSON.parse(piped.stdout)).toMatchObject({ outcome: 'applied', method: 'REQUEST', uid: 'piped-0a1b2c3d@google.com' });
    expect(partstatOf((await copyOf(bob, bobCal, 'piped-0a1b2c3d@google.com'))!.ics, B)).toBe('NEEDS-ACTION');
  }, 120_000);
});
