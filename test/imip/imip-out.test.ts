import ICAL from 'ical.js';
import { sql } from 'kysely';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendar, inboxOf, meeting } from '../scheduling/helpers.ts';
import { eventually, TestMta, type ReceivedMail } from './mta.ts';

/**
 * iMIP out (issue 11 item 1) against a real SMTP server process: invitations,
 * updates, cancellations and replies to people outside the server arrive as
 * RFC 6047 messages with the structure Gmail and Outlook expect, carrying
 * only what their recipient may see.
 */
let server: TestServer;
let mta: TestMta;
let alice: DmciClient;
let bob: DmciClient;
let aliceCal: string;
let bobCal: string;

const A = 'alice@out.test';
const B = 'bob@out.test';
const CAROL = 'carol@customer.example';
const DAVE = 'dave@partner.example';

beforeAll(async () => {
  mta = new TestMta();
  await mta.start();
  server = await startTestServer({ DMCI_SMTP_URL: mta.url, DMCI_OUTBOX_POLL_MS: '100', DMCI_OUTBOX_RETRY_BASE_MS: '200', DMCI_OUTBOX_RETRY_MAX_MS: '400', DMCI_SMTP_TIMEOUT_MS: '5000' });
  await server.createAccount(A, undefined, undefined, 'Alice Example');
  await server.createAccount(B);
  alice = await server.connect(A, undefined, { requestTimeoutMs: 60_000 });
  bob = await server.connect(B);
  aliceCal = await defaultCalendar(alice);
  bobCal = await defaultCalendar(bob);
  // Alice works in Berlin: her invitations show times there.
  await sql`insert into account_availability (account_id, domain_id, time_zone) select id, domain_id, 'Europe/Berlin' from accounts where email = ${A}`.execute(server.app.db);
});
afterAll(async () => {
  await server.stop();
  await mta.stop();
});

/** The MIME tree of a raw message: content types, nested. */
function mimeTree(raw: string): string[] {
  return [...raw.matchAll(/^Content-Type:\s*([^;\r\n]+)(?:;[^\r\n]*(?:\r\n[ \t][^\r\n]*)*)?/gim)].map((m) => m[0].replace(/\r\n[ \t]+/g, ' ').toLowerCase());
}

async function calendarOf(mail: ReceivedMail) {
  const parsed = await simpleParser(mail.raw);
  const calendarParts = parsed.attachments.filter((a) => /text\/calendar|application\/ics/.test(a.contentType));
  return { parsed, calendarParts, ics: calendarParts[0]!.content.toString('utf8') };
}

describe('iMIP out', () => {
  it('an invitation reaches an outside attendee as multipart/mixed(alternative(text, html, text/calendar REQUEST), invite.ics)', async () => {
    const ics = meeting({
      uid: 'kickoff@out.test',
      organizer: A,
      attendees: [B, CAROL],
      summary: 'Kick-off',
      location: 'Room 1',
      extra: ['BEGIN:VALARM', 'ACTION:DISPLAY', 'DESCRIPTION:reminder', 'TRIGGER:-PT15M', 'END:VALARM', 'X-DMCI-INTERNAL:secret'],
    });
    const result = await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics } } });
    expect(result.scheduled![result.created.m!.id]![CAROL]).toEqual({ delivery: 'external' });
    const mail = (await eventually(() => (mta.to(CAROL).length > 0 ? mta.to(CAROL) : undefined), 'the invitation reaches carol'))[0]!;
    // Nobody inside gets mail: bob has his copy and inbox message.
    expect(mta.to(B)).toEqual([]);

    const tree = mimeTree(mail.raw);
    expect(tree[0]).toMatch(/^content-type: multipart\/mixed/);
    expect(tree[1]).toMatch(/^content-type: multipart\/alternative/);
    expect(tree.slice(2, 5).map((t) => t.split(';')[0])).toEqual(['content-type: text/plain', 'content-type: text/html', 'content-type: text/calendar']);
    expect(tree[4]).toMatch(/method=request/);
    expect(tree[4]).toMatch(/charset=utf-8/);
    expect(tree[5]).toMatch(/^content-type: application\/ics; name=invite\.ics/);

    const { parsed, calendarParts, ics: sent } = await calendarOf(mail);
    expect(calendarParts).toHaveLength(2);
    expect(calendarParts[0]!.content.equals(calendarParts[1]!.content)).toBe(true);
    expect(parsed.from?.value[0]).toMatchObject({ address: A, name: 'Alice Example' });
    expect(parsed.messageId).toMatch(/^<[0-9a-f-]{36}@out\.test>$/);
    expect(parsed.subject).toBe('Invitation: Kick-off @ Tuesday, 1 December 2026, 11:00 – 12:00 (Europe/Berlin)');
    expect(parsed.text).toContain('Where: Room 1');
    expect(parsed.html).toContain('Kick-off');
    expect(mail.from).toBe(A);

    const root = new ICAL.Component(ICAL.parse(sent));
    expect(root.getFirstPropertyValue('method')).toBe('REQUEST');
    const vevent = root.getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstPropertyValue('uid')).toBe('kickoff@out.test');
    expect(vevent.getAllSubcomponents('valarm')).toEqual([]);
    expect(sent).not.toMatch(/X-DMCI|SCHEDULE-AGENT|SCHEDULE-STATUS/i);
    expect(vevent.getAllProperties('attendee').map((p) => String(p.getFirstValue()).toLowerCase())).toEqual([`mailto:${B}`, `mailto:${CAROL}`]);
  });

  it('answers alone send nothing; a new time sends an update; a removed outside attendee gets a CANCEL naming only them', async () => {
    const id = (await alice.request('CalendarEvent/changes', { calendarId: aliceCal })).created.find((e) => e.uid === 'kickoff@out.test')!.id;
    const copy = (await bob.request('CalendarEvent/changes', { calendarId: bobCal })).created.find((e) => e.uid === 'kickoff@out.test')!;
    await bob.request('CalendarEvent/set', { calendarId: bobCal, reply: { [copy.id]: { partstat: 'ACCEPTED' } } });
    // A significant change (new time) and a new outside attendee.
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: meeting({ uid: 'kickoff@out.test', organizer: A, attendees: [B, CAROL, DAVE], summary: 'Kick-off', start: '2026-12-02T10:00:00Z' }) } } });
    const updates = await eventually(() => (mta.to(CAROL).length >= 2 && mta.to(DAVE).length >= 1 ? mta.to(CAROL) : undefined), 'the update reaches carol and dave');
    expect(updates).toHaveLength(2);
    const { parsed, ics } = await calendarOf(updates[1]!);
    expect(parsed.subject).toMatch(/^Updated invitation: Kick-off/);
    expect(new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent('vevent')!.getFirstPropertyValue('sequence')).toBe(1);

    // Dave removed: he alone gets a CANCEL, with only his ATTENDEE line; carol gets an update (the attendee list changed).
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, update: { [id]: { ics: meeting({ uid: 'kickoff@out.test', organizer: A, attendees: [B, CAROL], summary: 'Kick-off', start: '2026-12-02T10:00:00Z', sequence: 1 }) } } });
    const cancel = (await eventually(() => (mta.to(DAVE).length >= 2 ? mta.to(DAVE) : undefined), 'dave is uninvited'))[1]!;
    const cancelled = await calendarOf(cancel);
    expect(cancelled.parsed.subject).toBe('Cancelled: Kick-off');
    const root = new ICAL.Component(ICAL.parse(cancelled.ics));
    expect(root.getFirstPropertyValue('method')).toBe('CANCEL');
    const vevent = root.getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstPropertyValue('status')).toBe('CANCELLED');
    expect(vevent.getAllProperties('attendee').map((p) => String(p.getFirstValue()).toLowerCase())).toEqual([`mailto:${DAVE}`]);
  });

  it('destroying the meeting cancels it for everyone outside', async () => {
    const id = (await alice.request('CalendarEvent/changes', { calendarId: aliceCal })).created.find((e) => e.uid === 'kickoff@out.test')!.id;
    const before = mta.to(CAROL).length;
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, destroy: [id] });
    const mail = (await eventually(() => (mta.to(CAROL).length > before && mta.to(CAROL).some((m) => /method=CANCEL/i.test(m.raw)) ? mta.to(CAROL) : undefined), 'carol gets the cancellation')).at(-1)!;
    const root = new ICAL.Component(ICAL.parse((await calendarOf(mail)).ics));
    expect(root.getFirstPropertyValue('method')).toBe('CANCEL');
    expect(root.getFirstSubcomponent('vevent')!.getAllProperties('attendee')).toHaveLength(2);
  });

  it("an account's answer to an outside organizer's meeting goes out as a REPLY with only its own ATTENDEE line", async () => {
    const ORG = 'olga@vendor.example';
    const created = await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics: meeting({ uid: 'vendor-call@vendor.example', organizer: ORG, attendees: [B, CAROL], summary: 'Vendor call', sequence: 2 }) } } });
    const id = created.created.m!.id;
    expect(mta.to(ORG)).toEqual([]);
    await bob.request('CalendarEvent/set', {
      calendarId: bobCal,
      update: { [id]: { ics: meeting({ uid: 'vendor-call@vendor.example', organizer: ORG, attendees: [{ email: B, partstat: 'ACCEPTED' }, CAROL], summary: 'Vendor call', sequence: 2 }) } },
    });
    const mail = (await eventually(() => (mta.to(ORG).length > 0 ? mta.to(ORG) : undefined), 'the reply reaches the organizer'))[0]!;
    const { parsed, ics } = await calendarOf(mail);
    expect(parsed.subject).toBe('Accepted: Vendor call');
    expect(parsed.from?.value[0]?.address).toBe(B);
    const root = new ICAL.Component(ICAL.parse(ics));
    expect(root.getFirstPropertyValue('method')).toBe('REPLY');
    const vevent = root.getFirstSubcomponent('vevent')!;
    expect(vevent.getFirstPropertyValue('sequence')).toBe(2);
    const attendees = vevent.getAllProperties('attendee');
    expect(attendees.map((p) => String(p.getFirstValue()).toLowerCase())).toEqual([`mailto:${B}`]);
    expect(attendees[0]!.getParameter('partstat')).toBe('ACCEPTED');
    // Removing it declines (RFC 6638 §3.2.2.4).
    await bob.request('CalendarEvent/set', { calendarId: bobCal, destroy: [id] });
    const decline = (await eventually(() => (mta.to(ORG).length > 1 ? mta.to(ORG) : undefined), 'the decline reaches the organizer'))[1]!;
    expect((await calendarOf(decline)).parsed.subject).toBe('Declined: Vendor call');
  });

  it("an account's proposal of another time for an outside organizer's meeting goes out as a COUNTER", async () => {
    const ORG = 'olga@vendor.example';
    const id = (await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics: meeting({ uid: 'vendor-review@vendor.example', organizer: ORG, attendees: [B, CAROL], summary: 'Review', sequence: 1 }) } } })).created.m!.id;
    const result = await bob.request('CalendarEvent/set', { calendarId: bobCal, counter: { [id]: { start: '2026-12-01T15:00:00Z', end: '2026-12-01T16:00:00Z', comment: 'Afternoon?' } } });
    expect(result.replied?.[id]).toBeDefined();
    const mail = await eventually(() => mta.to(ORG).find((m) => /method=COUNTER/i.test(m.raw)), 'the COUNTER reaches the organizer');
    const { parsed, ics } = await calendarOf(mail);
    expect(parsed.subject).toBe('New time proposed: Review');
    const vevent = new ICAL.Component(ICAL.parse(ics)).getFirstSubcomponent('vevent')!;
    expect(String(vevent.getFirstPropertyValue('dtstart'))).toBe('2026-12-01T15:00:00Z');
    expect(vevent.getFirstPropertyValue('comment')).toBe('Afternoon?');
    expect(vevent.getAllProperties('attendee').map((p) => String(p.getFirstValue()).toLowerCase())).toEqual([`mailto:${B}`]);
    // A proposal for an event that is no invitation at all is still refused as before.
    const own = (await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics: meeting({ uid: 'own@out.test', organizer: B, attendees: [] }) } } })).created.m!.id;
    const refused = await bob.request('CalendarEvent/set', { calendarId: bobCal, counter: { [own]: { start: '2026-12-01T15:00:00Z', end: '2026-12-01T16:00:00Z' } } });
    expect(refused.notReplied?.[own]).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an outside organizer marked SCHEDULE-AGENT=CLIENT (the connector answers itself) gets no mail from dmci', async () => {
    const ORG = 'client-org@vendor.example';
    const text = (partstat: string) => meeting({ uid: 'client-agent@vendor.example', organizer: ORG, attendees: [{ email: B, partstat }], summary: 'Client' }).replace(`ORGANIZER:mailto:${ORG}`, `ORGANIZER;SCHEDULE-AGENT=CLIENT:mailto:${ORG}`);
    const id = (await bob.request('CalendarEvent/set', { calendarId: bobCal, create: { m: { ics: text('NEEDS-ACTION') } } })).created.m!.id;
    await bob.request('CalendarEvent/set', { calendarId: bobCal, update: { [id]: { ics: text('ACCEPTED') } } });
    const pending = await server.app.db.selectFrom('imip_outbox').select('id').where('recipient', '=', ORG).execute();
    expect(pending).toEqual([]);
  });

  it('a recipient the SMTP server refuses for good (5xx) is a dead letter at once, and the organizer is told in their inbox', async () => {
    const GONE = 'gone@customer.example';
    mta.refuse.set(GONE, { code: 550, message: 'No such user' });
    await alice.request('CalendarEvent/set', { calendarId: aliceCal, create: { m: { ics: meeting({ uid: 'dead@out.test', organizer: A, attendees: [GONE], summary: 'Unreachable' }) } } });
    const row = await eventually(async () => (await server.app.db.selectFrom('imip_outbox').selectAll().where('recipient', '=', GONE).where('state', '=', 'dead').executeTakeFirst()) ?? undefined, 'the message dies');
    expect(row.last_error).toMatch(/550/);
    const message = await eventually(async () => (await inboxOf(alice)).find((m) => m.kind === 'undeliverable' && m.uid === 'dead@out.test'), 'the undeliverable message');
    expect(message).toMatchObject({ from: GONE, summary: 'Unreachable' });
    expect(message.comment).toMatch(/^could not deliver to gone@customer\.example: 550/);
    const metrics = await (await fetch(`${server.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/dmci_outbox_failed_total\{outcome="dead"\} 1/);
    expect(metrics).toMatch(/dmci_outbox_delivered_total [1-9]/);
    expect(metrics).toMatch(/dmci_outbox_pending 0/);
  });
});
