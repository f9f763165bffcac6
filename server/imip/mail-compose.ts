import type Mail from 'nodemailer/lib/mailer/index.js';
import { parseCalendarObject, type ParsedEvent } from '../calendar/ical/index.ts';
import { attendeeLines } from './itip-out.ts';
import { mailLanguage, type MailWords } from './mail-text.ts';
import type { OutboxRow } from './outbox.table.ts';

/**
 * One outbox row as an RFC 6047 message, the way Gmail and Outlook write
 * theirs: multipart/mixed holding multipart/alternative (text/plain, text/html,
 * `text/calendar; method=X; charset=utf-8`) and the same object again as an
 * `invite.ics` attachment (application/ics) — nodemailer's `icalEvent` makes
 * both parts. The readable summary is in the sending account's language
 * (mail-text.ts; English when not set) with times in the recipient's zone
 * when known — for a REPLY or COUNTER, the zone the outside organizer wrote
 * the event in — else the sender's (their working-hours zone, else their
 * domain's).
 */

export interface MailIdentity {
  /** organizer: From is the person; sender: From is `mailFrom`, Reply-To the person. */
  mode: 'organizer' | 'sender';
  mailFrom: string | undefined;
}

export function composeMail(row: OutboxRow, identity: MailIdentity): Mail.Options {
  const event = eventOf(row.ics);
  const { words, locale } = mailLanguage(row.language);
  const summary = row.summary ?? event?.summary ?? words.noTitle;
  const heading = headingOf(row, words);
  const toOrganizer = row.method === 'REPLY' || row.method === 'COUNTER';
  // The outside organizer's zone is the one they wrote the event in; an outside attendee's is not known.
  const zone = (toOrganizer ? event?.tzid : null) ?? row.time_zone;
  const when = event ? describeTime(event, zone, locale) : null;
  const lines: Array<[string, string]> = [];
  if (when) lines.push([words.when, when]);
  if (event?.location) lines.push([words.where, event.location]);
  lines.push([toOrganizer ? words.from : words.organizer, row.sender_name ? `${row.sender_name} <${row.sender}>` : row.sender]);
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
      `<!doctype html><html lang="${escapeHtml(locale)}"><body>`,
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

function headingOf(row: OutboxRow, words: MailWords): string {
  switch (row.method) {
    case 'REPLY': {
      const partstat = String(attendeeLines(row.ics, row.sender)[0]?.[1].partstat ?? '').toUpperCase();
      return words.answers[partstat as keyof MailWords['answers']] ?? words.answer;
    }
    case 'REQUEST':
      return row.sequence > 0 ? words.updatedInvitation : words.invitation;
    case 'CANCEL':
      return words.cancelled;
    case 'COUNTER':
      return words.counter;
    case 'DECLINECOUNTER':
      return words.declineCounter;
  }
}

function eventOf(ics: string): ParsedEvent | null {
  try {
    const obj = parseCalendarObject(ics);
    return obj.master ?? obj.overrides[0] ?? null;
  } catch {
    return null;
  }
}

/** "Tuesday, 1 December 2026, 10:00 – 11:00 (Europe/Berlin)" in `locale`'s words and order; all-day events by date alone. */
export function describeTime(event: Pick<ParsedEvent, 'start' | 'end' | 'allDay'>, zone: string, locale = 'en-GB'): string {
  const tz = validZone(zone);
  if (event.allDay) {
    const day = new Intl.DateTimeFormat(locale, { timeZone: 'UTC', weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
    const last = new Date(event.end.getTime() - 86_400_000);
    return last > event.start ? `${day.format(event.start)} – ${day.format(last)}` : day.format(event.start);
  }
  const date = new Intl.DateTimeFormat(locale, { timeZone: tz, weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const time = new Intl.DateTimeFormat(locale, { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
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
