import ICAL from 'ical.js';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config/config.ts';
import { cancelMessage, counterMessage, declineCounterMessage, replyMessage, requestMessage } from '../../server/imip/itip-out.ts';

/** What each mailed iTIP object keeps of the stored text (server/imip/itip-out.ts), and the mail settings' checks. */

const NOW = new Date('2026-11-29T12:00:00Z');
const STORED = [
  'BEGIN:VCALENDAR',
  'VERSION:2.0',
  'PRODID:-//dmci tests//EN',
  'BEGIN:VTIMEZONE',
  'TZID:Europe/Berlin',
  'BEGIN:STANDARD',
  'DTSTART:19701025T030000',
  'TZOFFSETFROM:+0200',
  'TZOFFSETTO:+0100',
  'END:STANDARD',
  'END:VTIMEZONE',
  'BEGIN:VEVENT',
  'UID:u1@out.test',
  'DTSTAMP:20261001T000000Z',
  'ORGANIZER;SCHEDULE-STATUS=1.2:mailto:alice@out.test',
  'SUMMARY:Budget',
  'DESCRIPTION:Numbers',
  'DTSTART;TZID=Europe/Berlin:20261201T100000',
  'DTEND;TZID=Europe/Berlin:20261201T110000',
  'RRULE:FREQ=WEEKLY;COUNT=3',
  'SEQUENCE:2',
  'ATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-AGENT=SERVER:mailto:bob@out.test',
  'ATTENDEE;PARTSTAT=TENTATIVE;X-DMCI-NOTE=x:mailto:carol@customer.example',
  'X-DMCI-SECRET:internal',
  'BEGIN:VALARM',
  'ACTION:DISPLAY',
  'DESCRIPTION:alarm',
  'TRIGGER:-PT15M',
  'END:VALARM',
  'END:VEVENT',
  'BEGIN:VEVENT',
  'UID:u1@out.test',
  'DTSTAMP:20261001T000000Z',
  'RECURRENCE-ID;TZID=Europe/Berlin:20261208T100000',
  'ORGANIZER:mailto:alice@out.test',
  'SUMMARY:Budget',
  'DTSTART;TZID=Europe/Berlin:20261208T120000',
  'DTEND;TZID=Europe/Berlin:20261208T130000',
  'SEQUENCE:2',
  'ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@out.test',
  'ATTENDEE;PARTSTAT=DECLINED:mailto:carol@customer.example',
  'END:VEVENT',
  'END:VCALENDAR',
  '',
].join('\r\n');

const parse = (text: string) => new ICAL.Component(ICAL.parse(text));
const attendees = (c: ICAL.Component) => c.getAllProperties('attendee').map((p) => String(p.getFirstValue()).toLowerCase());

describe('iTIP objects mailed outside', () => {
  it('REQUEST: the whole meeting with every attendee, without alarms, X-DMCI or scheduling parameters; DTSTAMP now', () => {
    const text = requestMessage(STORED, NOW);
    const root = parse(text);
    expect(root.getFirstPropertyValue('method')).toBe('REQUEST');
    const events = root.getAllSubcomponents('vevent');
    expect(events).toHaveLength(2);
    expect(attendees(events[0]!)).toEqual(['mailto:bob@out.test', 'mailto:carol@customer.example']);
    expect(text).not.toMatch(/VALARM|X-DMCI|SCHEDULE-AGENT|SCHEDULE-STATUS/);
    expect(String(events[0]!.getFirstPropertyValue('dtstamp'))).toBe('2026-11-29T12:00:00Z');
    expect(root.getFirstSubcomponent('vtimezone')).not.toBeNull();
  });

  it('CANCEL of one attendee: the master only, STATUS:CANCELLED, the given SEQUENCE, that attendee alone', () => {
    const root = parse(cancelMessage(STORED, 3, 'carol@customer.example', NOW));
    expect(root.getFirstPropertyValue('method')).toBe('CANCEL');
    const events = root.getAllSubcomponents('vevent');
    expect(events).toHaveLength(1);
    expect(events[0]!.getFirstPropertyValue('status')).toBe('CANCELLED');
    expect(events[0]!.getFirstPropertyValue('sequence')).toBe(3);
    expect(attendees(events[0]!)).toEqual(['mailto:carol@customer.example']);
    expect(attendees(parse(cancelMessage(STORED, 3, null, NOW)).getFirstSubcomponent('vevent')!)).toHaveLength(2);
  });

  it('REPLY: the answered components only, the answering attendee alone, no description', () => {
    const text = replyMessage(STORED, 'bob@out.test', new Set(['20261208T090000Z']), NOW);
    const root = parse(text);
    expect(root.getFirstPropertyValue('method')).toBe('REPLY');
    const events = root.getAllSubcomponents('vevent');
    expect(events).toHaveLength(1);
    expect(events[0]!.getFirstPropertyValue('recurrence-id')).toBeTruthy();
    expect(attendees(events[0]!)).toEqual(['mailto:bob@out.test']);
    expect(text).not.toMatch(/DESCRIPTION|carol/);
    // The zone the remaining component uses stays; a reply of the master alone keeps it too.
    expect(root.getFirstSubcomponent('vtimezone')).not.toBeNull();
  });

  it('COUNTER: the master at the proposed time (UTC), the proposing attendee alone, the comment', () => {
    const text = counterMessage(STORED, 'bob@out.test', { start: new Date('2026-12-02T09:00:00Z'), end: new Date('2026-12-02T10:00:00Z'), comment: 'Wednesday?' }, NOW);
    const root = parse(text);
    expect(root.getFirstPropertyValue('method')).toBe('COUNTER');
    const events = root.getAllSubcomponents('vevent');
    expect(events).toHaveLength(1);
    expect(String(events[0]!.getFirstPropertyValue('dtstart'))).toBe('2026-12-02T09:00:00Z');
    expect(attendees(events[0]!)).toEqual(['mailto:bob@out.test']);
    expect(events[0]!.getFirstPropertyValue('comment')).toBe('Wednesday?');
  });

  it('DECLINECOUNTER: the master, the proposing attendee alone, the comment', () => {
    const root = parse(declineCounterMessage(STORED, 'carol@customer.example', 'Mornings only', NOW));
    expect(root.getFirstPropertyValue('method')).toBe('DECLINECOUNTER');
    const event = root.getFirstSubcomponent('vevent')!;
    expect(attendees(event)).toEqual(['mailto:carol@customer.example']);
    expect(event.getFirstPropertyValue('comment')).toBe('Mornings only');
  });
});

describe('mail settings', () => {
  it('refuse a sender mode without a sender, a lease shorter than a send, a non-SMTP URL', () => {
    expect(() => loadConfig({ DMCI_MAIL_FROM_MODE: 'sender' })).toThrow(/invalid DMCI_MAIL_FROM: DMCI_MAIL_FROM_MODE=sender needs a sender address/);
    expect(() => loadConfig({ DMCI_OUTBOX_LEASE_MS: '10000', DMCI_SMTP_TIMEOUT_MS: '30000' })).toThrow(/invalid DMCI_OUTBOX_LEASE_MS/);
    expect(() => loadConfig({ DMCI_SMTP_URL: 'http://mail.example' })).toThrow(/invalid DMCI_SMTP_URL/);
    expect(loadConfig({ DMCI_SMTP_URL: 'smtps://u:p@mail.example:465', DMCI_MAIL_FROM: 'calendar@example.com', DMCI_MAIL_FROM_MODE: 'sender' })).toMatchObject({ DMCI_MAIL_FROM_MODE: 'sender', DMCI_LMTP_PORT: undefined, DMCI_LMTP_HOST: '127.0.0.1' });
  });
});
