import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../../protocol/index.ts';
import { DmciError } from '../../../server/errors.ts';
import { IcalError, parseCalendarObject } from '../../../server/calendar/ical/index.ts';

/** Each rejection: the whole object, with a stable code and a message that names the problem. */
const cal = (...lines: string[]): string => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const ev = (...lines: string[]): string[] => ['BEGIN:VEVENT', 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT'];
const ok = (...lines: string[]): string[] => ev('UID:a', 'DTSTART:20260101T100000Z', ...lines);

function rejects(text: string, code: ErrorCode, message: RegExp, limits?: Parameters<typeof parseCalendarObject>[1]): void {
  let thrown: unknown;
  try {
    parseCalendarObject(text, limits);
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(IcalError);
  expect(thrown).toBeInstanceOf(DmciError); // the gateway turns it into a client error as is
  expect((thrown as IcalError).code).toBe(code);
  expect((thrown as IcalError).message).toMatch(message);
}

const INVALID = ErrorCode.INVALID_ICALENDAR;

describe('validation', () => {
  it('accepts a minimal event, also with a byte order mark and LF line ends', () => {
    expect(parseCalendarObject(cal(...ok())).uid).toBe('a');
    expect(parseCalendarObject(`\uFEFF${cal(...ok()).replace(/\r\n/g, '\n')}`).text).toMatch(/^BEGIN:VCALENDAR\r\n/);
  });

  it('rejects unparsable text', () => {
    rejects('hello world', INVALID, /could not parse/);
    rejects('', INVALID, /could not parse/);
    rejects('BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:a\r\n', INVALID, /could not parse/);
    rejects('PRODID:x\r\nBEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n', INVALID, /does not start with BEGIN:VCALENDAR/);
    // A property after the calendar ends makes ical.js fail with a TypeError: reported without its internals.
    rejects(`${cal(...ok())}PRODID:x\r\n`, INVALID, /^could not parse iCalendar$/);
  });

  it('rejects what is not a VCALENDAR', () => {
    rejects('BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n', INVALID, /expected a VCALENDAR, found VCARD/);
  });

  it('rejects a VCALENDAR without VEVENT, and VTODO/VJOURNAL objects', () => {
    rejects(cal(), INVALID, /no VEVENT/);
    rejects(cal('BEGIN:VTODO', 'UID:a', 'END:VTODO', ...ok()), INVALID, /VTODO is not supported/);
  });

  it('rejects a missing UID and several UIDs', () => {
    rejects(cal(...ev('DTSTART:20260101T100000Z')), INVALID, /no UID/);
    rejects(cal(...ok(), ...ev('UID:b', 'DTSTART:20260101T100000Z')), INVALID, /one UID, found 2/);
  });

  it('rejects a missing DTSTART, two masters, duplicate overrides', () => {
    rejects(cal(...ev('UID:a')), INVALID, /no DTSTART/);
    rejects(cal(...ok(), ...ok()), INVALID, /more than one VEVENT without RECURRENCE-ID/);
    const override = ok('RECURRENCE-ID:20260102T100000Z');
    rejects(cal(...ok('RRULE:FREQ=DAILY'), ...override, ...override), INVALID, /two overrides for RECURRENCE-ID 20260102T100000Z/);
  });

  it('rejects end before start (DTEND and negative DURATION) and mixed DATE/DATE-TIME', () => {
    rejects(cal(...ok('DTEND:20260101T090000Z')), INVALID, /DTEND is before DTSTART/);
    rejects(cal(...ok('DURATION:-PT1H')), INVALID, /DURATION is negative/);
    rejects(cal(...ok('DTEND:20260101T110000Z', 'DURATION:PT1H')), INVALID, /both DTEND and DURATION/);
    rejects(cal(...ev('UID:a', 'DTSTART;VALUE=DATE:20260101', 'DTEND:20260102T100000Z')), INVALID, /same value type/);
  });

  it('rejects invalid dates', () => {
    rejects(cal(...ev('UID:a', 'DTSTART:20260230T100000Z')), INVALID, /not a valid date/);
    rejects(cal(...ev('UID:a', 'DTSTART:2026xx01T100000Z')), INVALID, /DTSTART value .* not a valid/);
  });

  it('rejects a TZID that is neither embedded, IANA nor a Windows zone name', () => {
    rejects(cal(...ev('UID:a', 'DTSTART;TZID=Foo Standard Time:20260101T100000')), INVALID, /unknown time zone "Foo Standard Time"/);
    rejects(cal(...ok('EXDATE;TZID=Mars/Olympus:20260101T100000')), INVALID, /unknown time zone "Mars\/Olympus"/);
    // …and accepts each of the three.
    expect(parseCalendarObject(cal(...ev('UID:a', 'DTSTART;TZID=Europe/Paris:20260101T100000'))).master?.tzid).toBe('Europe/Paris');
    expect(parseCalendarObject(cal(...ev('UID:a', 'DTSTART;TZID="India Standard Time":20260101T100000'))).master?.tzid).toBe('Asia/Kolkata');
  });

  it('rejects unbounded SECONDLY and MINUTELY rules but accepts bounded ones and a huge COUNT', () => {
    rejects(cal(...ok('RRULE:FREQ=SECONDLY')), INVALID, /FREQ=SECONDLY without COUNT or UNTIL is unbounded/);
    rejects(cal(...ok('RRULE:FREQ=MINUTELY;INTERVAL=5')), INVALID, /FREQ=MINUTELY without COUNT or UNTIL/);
    expect(parseCalendarObject(cal(...ok('RRULE:FREQ=MINUTELY;COUNT=10'))).recurring).toBe(true);
    const huge = parseCalendarObject(cal(...ok('RRULE:FREQ=SECONDLY;COUNT=100000000')));
    expect(huge.lastEnd).toBeNull(); // too long to walk at parse time: treated as unbounded
  });

  it('rejects invalid RRULEs', () => {
    rejects(cal(...ok('RRULE:FREQ=FOO')), INVALID, /frequency|FREQ/);
    rejects(cal(...ok('RRULE:FREQ=WEEKLY;BYDAY=2MO')), INVALID, /BYDAY with a number/);
    rejects(cal(...ok('RRULE:FREQ=DAILY;BYWEEKNO=3')), INVALID, /BYWEEKNO is only valid with FREQ=YEARLY/);
    rejects(cal(...ok('RRULE:FREQ=WEEKLY;BYMONTHDAY=3')), INVALID, /BYMONTHDAY is not valid with FREQ=WEEKLY/);
    rejects(cal(...ok('RRULE:FREQ=MONTHLY;BYMONTHDAY=32')), INVALID, /BYMONTHDAY/);
    rejects(cal(...ok('RRULE:FREQ=DAILY', 'RRULE:FREQ=WEEKLY')), INVALID, /more than one RRULE/);
    rejects(cal(...ev('UID:a', 'DTSTART;VALUE=DATE:20260101', 'RRULE:FREQ=HOURLY')), INVALID, /needs a DATE-TIME DTSTART/);
  });

  it('rejects an object over maxBytes and one with too many overrides (LIMIT_EXCEEDED)', () => {
    const limits = { maxBytes: 2000, maxOverrides: 2, maxInstancesPerExpansion: 100, maxExpansionSteps: 250_000 };
    rejects(cal(...ok(`DESCRIPTION:${'x'.repeat(3000)}`)), ErrorCode.LIMIT_EXCEEDED, /bytes, over the limit of 2000/, limits);
    const overrides = [2, 3, 4].flatMap((d) => ok(`RECURRENCE-ID:2026010${d}T100000Z`));
    rejects(cal(...ok('RRULE:FREQ=DAILY'), ...overrides), ErrorCode.LIMIT_EXCEEDED, /3 overrides, over the limit of 2/, limits);
    // The default limit is 256 KiB.
    rejects(cal(...ok(`DESCRIPTION:${'x'.repeat(300 * 1024)}`)), ErrorCode.LIMIT_EXCEEDED, /over the limit of 262144/);
  });
});
