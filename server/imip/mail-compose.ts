import type Mail from 'nodemailer/lib/mailer/index.js';
import { parseCalendarObject, type ParsedEvent } from '../calendar/ical/index.ts';
import { attendeeLines } from './itip-out.ts';
import type { OutboxRow } from './outbox.table.ts';

/**
 * One outbox row as an RFC 6047 message, the way Gmail and Outlook write
 * theirs: multipart/mixed holding multipart/alternative (text/plain, text/html,
 * `text/calendar; method=X; charset=utf-8`) and the same object again as an
 * `invite.ics` attachment (application/ics) — nodemailer's `icalEvent` makes
 * both parts. The readable summary is English (accounts carry no language
 * yet) with times in the sender's zone (their working-hours zone, else their
 * domain's).
 */

export interface MailIdentity {
  /** organizer: From is the person; sender: From is `mailFrom`, Reply-To the person. */
  mode: 'organizer' | 'sender';
  mailFrom: string | undefined;
}

const HEADINGS: Record<string, string> = {
  REQUEST: 'Invitation',
  CANCEL: 'Cancelled',
  COUNTER: 'New time proposed',
  DECLINECOUNTER: 'Proposal declined',
};
const ANSWERS: Record<string, string> = {
  ACCEPTED: 'Accepted',
  DECLINED: 'Declined',
  TENTATIVE: 'Tentatively accepted',
  DELEGATED: 'Delegated',
};

export function composeMail(row: OutboxRow, identity: MailIdentity): Mail.Options {
  const event = eventOf(row.ics);
  const summary = row.summary ?? event?.summary ?? '(no title)';
  const heading = headingOf(row);
  const when = event ? describeTime(event, row.time_zone) : null;
  const lines: Array<[string, string]> = [];
  if (when) lines.push(['When', when]);
  if (event?.location) lines.push(['Where', event.location]);
  lines.push([row.method === 'REPLY' || row.method === 'COUNTER' ? 'From' : 'Organizer', row.sender_name ? `${row.sender_name} <${row.sender}>` : row.sender]);
  const description = row.method === 'REQUEST' ? event?.description : null;
  const person = { name: row.sender_name ?? '', address: row.sender };
  const from = identity.mode === 'sender' && identity.mailFrom ? { name: row.sender_name ? `${row.sender_name} (via dmci)` : '', address: identity.mailFrom } : person;
  return {
    from,
    ...(from.address !== row.sender ? { replyTo: person } : {}),
    to: row.recipient,
    subject: `${heading}: ${summary}${row.method === 'REQUEST' && when ? ` @ ${when}` : ''}`,
    messageId: row.message_id,
    date: row.created_at,
    // Bounces go to the configured sender when there is one (the person's own address otherwise).
    envelope: { from: identity.mailFrom ?? row.sender, to: row.recipient },
    text: [`${heading}: ${summary}`, '', ...lines.map(([k, v]) => `${k}: ${v}`), ...(description ? ['', description] : []), ''].join('\n'),
    html: [
      '<!doctype html><html><body>',
      `<h2>${escapeHtml(heading)}: ${escapeHtml(summary)}</h2>`,
      '<table>',
      ...lines.map(([k, v]) => `<tr><th align="left">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`),
      '</table>',
      ...(description ? [`<p>${escapeHtml(description).replace(/\n/g, '<br>')}</p>`] : []),
      '</body></html>',
    ].join('\n'),
    icalEvent: { method: row.method, filename: 'invite.ics', content: row.ics },
    headers: { 'X-Mailer': 'dmci' },
  };
}

function headingOf(row: OutboxRow): string {
  if (row.method === 'REPLY') {
    const partstat = String(attendeeLines(row.ics, row.sender)[0]?.[1].partstat ?? '').toUpperCase();
    return ANSWERS[partstat] ?? 'Answer';
  }
  if (row.method === 'REQUEST' && row.sequence > 0) return 'Updated invitation';
  return HEADINGS[row.method] ?? row.method;
}

function eventOf(ics: string): ParsedEvent | null {
  try {
    const obj = parseCalendarObject(ics);
    return obj.master ?? obj.overrides[0] ?? null;
  } catch {
    return null;
  }
}

/** "Tuesday, 1 December 2026, 10:00 – 11:00 (Europe/Berlin)"; all-day events by date alone. */
export function describeTime(event: Pick<ParsedEvent, 'start' | 'end' | 'allDay'>, zone: string): string {
  const tz = validZone(zone);
  if (event.allDay) {
    const day = new Intl.DateTimeFormat('en-GB', { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    const last = new Date(event.end.getTime() - 86_400_000);
    return last > event.start ? `${day.format(event.start)} – ${day.format(last)}` : day.format(event.start);
  }
  const date = new Intl.DateTimeFormat('en-GB', { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const time = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const sameDay = date.format(event.start) === date.format(event.end);
  const end = sameDay ? time.format(event.end) : `${date.format(event.end)}, ${time.format(event.end)}`;
  return `${date.format(event.start)}, ${time.format(event.start)} – ${end} (${tz})`;
}

function validZone(zone: string): string {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: zone });
    return zone;
  } catch {
    return 'UTC';
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
