/**
 * Inputs an attacker sends (issue 7 items 3 and 4), shared by the tests that
 * prove the server refuses them cheaply and by `npm run bench -- hostile`.
 */

/**
 * A small event whose embedded VTIMEZONE changes offset at every `freq`
 * step (MINUTELY by default): each instance lookup would walk a year of
 * onsets. Before the work budgets one such object cost about a second of
 * blocked event loop; now it is refused with LIMIT_EXCEEDED.
 */
export function denseVtimezoneEvent(uid: string, freq: 'SECONDLY' | 'MINUTELY' | 'HOURLY' = 'MINUTELY'): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci hostile//EN',
    'BEGIN:VTIMEZONE',
    'TZID:Dense',
    'BEGIN:STANDARD',
    'DTSTART:19700101T000000',
    'TZOFFSETFROM:+0100',
    'TZOFFSETTO:+0000',
    `RRULE:FREQ=${freq}`,
    'END:STANDARD',
    'BEGIN:DAYLIGHT',
    'DTSTART:19700101T000000',
    'TZOFFSETFROM:+0000',
    'TZOFFSETTO:+0100',
    `RRULE:FREQ=${freq};INTERVAL=2`,
    'END:DAYLIGHT',
    'END:VTIMEZONE',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20260101T000000Z',
    'DTSTART;TZID=Dense:20260105T090000',
    'DTEND;TZID=Dense:20260105T100000',
    'RRULE:FREQ=DAILY',
    'SUMMARY:dense zone',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

/** A msgpack array of `count` nils (array32 header): `count` values in `count + 5` bytes. */
export function arrayOfNils(count: number): Uint8Array {
  const out = new Uint8Array(5 + count).fill(0xc0);
  out[0] = 0xdd;
  new DataView(out.buffer).setUint32(1, count);
  return out;
}

/**
 * A frame { x: [1,000 arrays of 1,000 nils] }: a million values in about
 * 1 MiB, two levels deep, every length within the decoder's per-container
 * limits. Before issue 7 it was decoded in full before any check.
 */
export function millionNilsFrame(): Uint8Array {
  const inner = arrayOfNils(1000);
  const parts = [Uint8Array.from([0x81, 0xa1, 0x78, 0xdc, 1000 >> 8, 1000 & 255]), ...Array.from({ length: 1000 }, () => inner)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
