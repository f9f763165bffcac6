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

/**
 * A legal msgpack map of `entries` keys whose values are all nil, in `bytes`
 * bytes at most: a 1 MiB frame holds about 100,000 such entries (the map-length
 * limit is what caps it), or, as one array, a million nils.
 */
export function arrayOfNils(count: number): Uint8Array {
  const out = new Uint8Array(5 + count).fill(0xc0);
  out[0] = 0xdd;
  new DataView(out.buffer).setUint32(1, count);
  return out;
}
