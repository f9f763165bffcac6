import { readFileSync } from 'node:fs';
import ICAL from 'ical.js';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { REPO_ROOT, runDmci } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, eventsOf, inboxOf, meeting, partstatOf } from '../scheduling/helpers.ts';
import { eventually, TestMta } from './mta.ts';

/**
 * iMIP in (issue 11 item 2): replies from outside reach the organizer's copy
 * through the LMTP door (nodemailer's SMTP transport in LMTP mode plays the
 * MTA) and through `dmci itip-ingest` (an MTA pipe), as Gmail, Outlook and
 * RFC 6047 write them; spoofed, stale and malformed messages change nothing
 * and get the status an MTA understands.
 */
let server: TestServer;
let mta: TestMta;
let alice: DmciClient;
let sam: DmciClient;
let aliceCal: string;

const A = 'alice@in.test';
const B = 'bob@in.test';
/** Alice's delegate, who chose copies of her scheduling messages. */
const SAM = 'sam@in.test';
const CAROL = 'carol@customer.example';
const DAVE = 'dave@partner.example';
const ERIN = 'erin@partner.example';

const fixture = (name: string) => readFileSync(`${REPO_ROOT}/test/fixtures/imip/${name}.eml`, 'utf8');

/** What the MTA would do: deliver over LMTP; resolves with the server's reply, rejects with its refusal. */
async function lmtp(raw: string, from = 'bounce@mx.example'): Promise<{ ok: true; response: string } | { ok: false; code: number; response: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.app.lmtpPort!, lmtp: true, ignoreTLS: true } as Parameters<typeof nodemailer.createTransport>[0]);
  try {
    const info = await transport.sendMail({ envelope: { from, to: [A] }, raw });
    // LMTP answers per recipient after DATA; nodemailer hands the one recipient's reply back as the response.
    const response = String(info.response);
    const code = Number(/^(\d{3}) /.exec(response)?.[1] ?? 0);
    return code >= 400 ? { ok: false, code, response } : { ok: true, response };
  } catch (error) {
    const e = error as { responseCode?: number; response?: string; message: string };
    return { ok: false, code: e.responseCode ?? 0, response: e.response ?? e.message };
  } finally {
    transport.close();
  }
}

const ingest = (raw: string) => runDmci(['--json', 'itip-ingest'], { env: { DATABASE_URL: server.databaseUrl, DMCI_SMTP_URL: mta.url }, input: raw });

async function organizerCopy(uid: string) {
  return (await eventsOf(alice, aliceCal)).find((e) => e.uid === uid)!;
}

/** Everything an applied message could change: the organizer's text and her inbox. */
async function snapshot() {
  return { events: (await eventsOf(alice, aliceCal)).map((e) => [e.uid, e.ics, e.version]).sort(), inbox: (await inboxOf(alice)).length };
}

const WEEKLY = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//dmci tests//EN',
  'BEGIN:VEVENT',
  'UID:weekly@in.test',
  'DTSTAMP:20261001T000000Z',
  `ORGANIZER:mailto:${A}`,
  'SUMMARY:Weekly sync',
  'DTSTART;TZID=Europe/Berlin:20261201T100000',
  'DTEND;TZID=Europe/Berlin:20261201T103000',
  'RRULE:FREQ=WEEKLY;COUNT=6',
  `ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${DAVE}`,
  'SEQUENCE:0',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
  server = await startTestServer({ DMCI_LMTP_PORT: '0', DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100', DMCI_LMTP_MAX_BYTES: '65536' });
  await server.createAccount(A);
  await server.createAccount(B);
  await server.createAccount(SAM);
  alice = await server.connect(A, undefined, { requestTimeoutMs: 60_000 });
  sam = await server.connect(SAM, undefined, { requestTimeoutMs: 60_000 });
  aliceCal = await defaultCalendar(alice);
  await alice.request('Calendar/set', { update: { [aliceCal]: { shareWith: { [SAM]: { right: 'write', delegate: true } } } } });
  await sam.request('Inbox/delegateCopies', { calendarId: aliceCal, enabled: true });
  await alice.request('CalendarEvent/set', {
    calendarId: aliceCal,
    create: {
      r: { ics: meeting({ uid: 'roadmap@in.test', organizer: A, attendees: [B, CAROL, DAVE, ERIN], summary: 'Roadmap', location: 'Room 4' }) },
      w: { ics: WEEKLY },
    },
  });
});
afterAll(async () => {
  await server.stop();
  await mta.stop();
});

describe('iMIP in', () => {
  it("Gmail's REPLY through the LMTP door: only carol's PARTSTAT changes; her X- properties, summary and location are not taken", async () => {
    const result = await lmtp(fixture('gmail-reply-accepted'));
    expect(result).toMatchObject({ ok: true });
    const event = await organizerCopy('roadmap@in.test');
    expect(partstatOf(event.ics, CAROL)).toBe('ACCEPTED');
    expect(partstatOf(event.ics, DAVE)).toBe('NEEDS-ACTION');
    const root = new ICAL.Component(ICAL.parse(event.ics));
    const vevent = root.getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstPropertyValue('summary')).toBe('Roadmap');
    expect(vevent.getFirstPropertyValue('location')).toBe('Room 4');
    expect(event.ics).not.toMatch(/X-GOOGLE|Hijacked|X-NUM-GUESTS/);
    expect((await inboxOf(alice)).find((m) => m.kind === 'reply' && m.from === CAROL)).toMatchObject({ partstat: 'ACCEPTED', uid: 'roadmap@in.test' });
    // Her delegate who chose copies gets one of the answer from outside, as of answers from inside.
    expect((await inboxOf(sam)).find((m) => m.kind === 'reply' && m.from === CAROL)).toMatchObject({ partstat: 'ACCEPTED', onBehalfOf: A, summary: 'Roadmap' });
    // The answer from outside reaches the internal attendee's copy too (issue 10: answers spread to every copy).
    const bob = await server.connect(B);
    expect(partstatOf((await eventsOf(bob, await defaultCalendar(bob))).find((e) => e.uid === 'roadmap@in.test')!.ics, CAROL)).toBe('ACCEPTED');
  });

  it("outlook.com's REPLY without ORGANIZER, through the pipe (dmci itip-ingest)", async () => {
    const result = await ingest(fixture('outlook-reply-tentative-no-organizer'));
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ outcome: 'applied', method: 'REPLY', uid: 'roadmap@in.test' });
    await eventually(async () => (partstatOf((await organizerCopy('roadmap@in.test')).ics, DAVE) === 'TENTATIVE' ? true : undefined), "dave's answer in alice's copy");
  });

  it('the RFC 6047 form (the whole message one text/calendar body)', async () => {
    expect(await lmtp(fixture('rfc6047-reply-declined'))).toMatchObject({ ok: true });
    expect(partstatOf((await organizerCopy('roadmap@in.test')).ics, ERIN)).toBe('DECLINED');
  });

  it("a per-occurrence REPLY with a Windows TZID: one occurrence declined, the series' answer unchanged", async () => {
    expect(await lmtp(fixture('outlook-reply-one-occurrence'))).toMatchObject({ ok: true });
    const event = await organizerCopy('weekly@in.test');
    const root = new ICAL.Component(ICAL.parse(event.ics));
    const [master, occurrence] = root.getAllSubcomponents('vevent');
    expect(occurrence).toBeDefined();
    expect(occurrence!.getFirstPropertyValue('recurrence-id')!.toString()).toBe('2026-12-08T10:00:00');
    expect(partstatOf(event.ics, DAVE, 0)).toBe('NEEDS-ACTION');
    expect(partstatOf(event.ics, DAVE, 1)).toBe('DECLINED');
    expect(master!.getFirstPropertyValue('rrule')).toBeTruthy();
    expect((await inboxOf(alice)).find((m) => m.uid === 'weekly@in.test' && m.kind === 'reply')).toMatchObject({ from: DAVE, partstat: 'DECLINED' });
  });

  it('a spoofed sender, a DMARC failure, a stale SEQUENCE, an unknown meeting and malformed messages change nothing and are refused for good', async () => {
    const before = await snapshot();
    const gmail = fixture('gmail-reply-accepted').replace('PARTSTAT=ACCEPTED', 'PARTSTAT=DECLINED');
    const spoofed = gmail.replace('From: Carol Customer <carol@customer.example>', 'From: Mallory <mallory@evil.example>');
    const refusals = [
      [spoofed, 550, /5\.7\.1 the sender mallory@evil\.example is not the attendee/],
      // SENT-BY names the forger, but from another domain than the attendee's.
      [spoofed.replace('X-NUM-GUESTS=0:mailto', 'SENT-BY="mailto:mallory@evil.example":mailto').replace(/^(Content-Transfer-Encoding: base64\r\n\r\n)[^-]+/m, '$1'), 550, /5\.7\.1/],
      [`Authentication-Results: mx.in.test; dmarc=fail (p=reject) header.from=customer.example\r\n${gmail}`, 550, /5\.7\.1 the message failed DMARC/],
      [fixture('rfc6047-reply-declined').replace('UID:roadmap@in.test', 'UID:nothing-like-it@in.test'), 550, /5\.7\.0 no meeting nothing-like-it@in\.test/],
      [fixture('rfc6047-reply-declined').replaceAll('erin@partner.example', 'zed@partner.example'), 550, /5\.7\.1 zed@partner\.example is not invited/],
      [fixture('rfc6047-reply-declined').replace('BEGIN:VEVENT', 'BEGIN:VEVENT\r\nBROKEN'), 554, /5\.6\.0/],
      [fixture('rfc6047-reply-declined').replace('PARTSTAT=DECLINED', 'PARTSTAT=MAYBE'), 554, /5\.6\.0 PARTSTAT MAYBE/],
      [fixture('rfc6047-reply-declined').replace('ATTENDEE;', `ATTENDEE:mailto:${CAROL}\r\nATTENDEE;`), 554, /5\.6\.0 a REPLY names exactly one ATTENDEE/],
      [fixture('rfc6047-reply-declined').replace(/METHOD:REPLY/g, 'METHOD:PUBLISH'), 554, /5\.6\.0 METHOD PUBLISH is not taken from outside/],
      ['From: erin@partner.example\r\nTo: alice@in.test\r\nSubject: hello\r\n\r\njust text\r\n', 554, /5\.6\.0 the message carries no text\/calendar part/],
    ] as const;
    // Past DMCI_LMTP_MAX_BYTES: refused by the door (552), nothing parsed.
    const padded = fixture('gmail-reply-accepted').replace('<div><span>', `<div>${'x'.repeat(70_000)}<span>`);
    const tooLarge = await lmtp(padded);
    expect(tooLarge).toMatchObject({ ok: false, code: 552 });
    for (const [raw, code, reply] of refusals) {
      const result = await lmtp(raw);
      expect(result, String(reply)).toMatchObject({ ok: false, code });
      expect(result.response).toMatch(reply);
    }
    expect(await snapshot()).toEqual(before);

    // A stale SEQUENCE: alice moved the meeting (SEQUENCE 1); a reply to SEQUENCE 0 is refused, through either door.
    const id = (await organizerCopy('roadmap@in.test')).id;
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: meeting({ uid: 'roadmap@in.test', organizer: A, attendees: [B, CAROL, DAVE, ERIN], summary: 'Roadmap', location: 'Room 4', start: '2026-12-01T12:00:00Z' }) } } });
    const moved = await snapshot();
    const stale = await lmtp(fixture('rfc6047-reply-declined'));
    expect(stale).toMatchObject({ ok: false, code: 550 });
    expect(stale.response).toMatch(/5\.7\.0 the message answers SEQUENCE 0, but the meeting is at SEQUENCE 1/);
    const piped = await ingest(fixture('rfc6047-reply-declined'));
    expect(piped.code).toBe(65);
    // The last line is the answer; the log line before it is for the MTA's log.
    expect(JSON.parse(piped.stderr.trim().split('\n').at(-1)!)).toMatchObject({ outcome: 'refused', reason: 'stale-sequence' });
    expect(await snapshot()).toEqual(moved);

    const metrics = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="sender-mismatch"\} 2/);
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="stale-sequence"\} 1/);
    expect(metrics).toMatch(/dmci_imip_inbound_total\{outcome="applied"\} 3/);
  });

  it('a reply of two occurrences where one does not exist applies neither (never half-applied)', async () => {
    const before = await snapshot();
    const one = fixture('outlook-reply-one-occurrence');
    const calendar = one.slice(one.indexOf('BEGIN:VCALENDAR'), one.indexOf('END:VCALENDAR') + 'END:VCALENDAR'.length);
    const event = calendar.slice(calendar.indexOf('BEGIN:VEVENT'), calendar.indexOf('END:VEVENT') + 'END:VEVENT'.length);
    const second = event.replace(/20261208T10/g, '20261215T10').replace(/20261208T1030/g, '20261215T1030');
    const missing = event.replace(/20261208T10/g, '20270601T10');
    const two = one.replace(event, `${second}\r\n${missing}`);
    const result = await lmtp(two);
    expect(result).toMatchObject({ ok: false, code: 550 });
    expect(result.response).toMatch(/has no occurrence/);
    expect(await snapshot()).toEqual(before);
  });

  it("a COUNTER from outside reaches the organizer's inbox; declining it mails a DECLINECOUNTER; a REFRESH mails the invitation again", async () => {
    expect(await lmtp(fixture('counter-from-carol').replace('SEQUENCE:0', 'SEQUENCE:1'))).toMatchObject({ ok: true });
    const proposal = (await inboxOf(alice)).find((m) => m.kind === 'counter' && m.from === CAROL)!;
    expect(proposal).toMatchObject({ proposedStart: '2026-12-01T14:00:00.000Z', comment: 'Afternoon works better for me' });
    const id = (await organizerCopy('roadmap@in.test')).id;
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, declineCounter: { [id]: { messageId: proposal.id, comment: 'Mornings only, sorry' } } });
    const decline = await eventually(() => mta.to(CAROL).find((m) => /method=DECLINECOUNTER/i.test(m.raw)), 'the DECLINECOUNTER reaches carol');
    expect(decline.raw).toMatch(/COMMENT:Mornings only\\, sorry/);

    const requestsBefore = mta.to(CAROL).filter((m) => /method=REQUEST/i.test(m.raw)).length;
    expect(await lmtp(fixture('refresh-from-carol'))).toMatchObject({ ok: true });
    await eventually(() => (mta.to(CAROL).filter((m) => /method=REQUEST/i.test(m.raw)).length > requestsBefore ? true : undefined), 'the invitation again');
  });
});
