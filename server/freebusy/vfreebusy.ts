import { createHash } from 'node:crypto';
import type { TimedBusy } from './busy-merge.ts';

/**
 * RFC 5545 §3.6.4 VFREEBUSY, as published free/busy (METHOD:PUBLISH, what
 * Outlook's Internet Free/Busy and CalDAV clients read): the window, one
 * FREEBUSY line per merged period with its FBTYPE, the owner as ORGANIZER.
 * Nothing else: no subjects (a VFREEBUSY has no place for them), no event
 * UIDs — the UID is derived from the owner and the window only.
 */

const stamp = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

export function renderVfreebusy(email: string, from: number, to: number, periods: readonly TimedBusy[], now: Date): string {
  const uid = createHash('sha256').update(`${email}\n${from}\n${to}`).digest('hex').slice(0, 32);
  const lines = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci//free-busy//EN',
    'METHOD:PUBLISH',
    'BEGIN:VFREEBUSY',
    `UID:${uid}@freebusy.dmci.invalid`,
    `DTSTAMP:${stamp(now.getTime())}`,
    `DTSTART:${stamp(from)}`,
    `DTEND:${stamp(to)}`,
    // The address was matched against the directory, so it holds no CR, LF or other control character.
    `ORGANIZER:mailto:${email}`,
    ...periods.map((p) => `FREEBUSY;FBTYPE=${p.busyType}:${stamp(p.start)}/${stamp(p.end)}`),
    'END:VFREEBUSY',
    'END:VCALENDAR',
  ];
  return lines.join('\r\n') + '\r\n';
}
