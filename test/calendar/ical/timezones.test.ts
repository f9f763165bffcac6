import { describe, expect, it } from 'vitest';
import { expandInstances, parseCalendarObject, WINDOWS_ZONES, windowsZoneToIana } from '../../../server/calendar/ical/index.ts';
import { civilFromDays, daysFromCivil, fieldsOf, localOf } from '../../../server/calendar/ical/local-time.ts';
import { ianaZone, toUtc } from '../../../server/calendar/ical/timezones.ts';
import { ics } from './helpers.ts';

describe('Windows zone names (CLDR windowsZones, territory 001)', () => {
  it('maps the names Outlook writes, case-insensitively', () => {
    expect(windowsZoneToIana('Eastern Standard Time')).toBe('America/New_York');
    expect(windowsZoneToIana('W. Europe Standard Time')).toBe('Europe/Berlin');
    expect(windowsZoneToIana('India Standard Time')).toBe('Asia/Kolkata');
    expect(windowsZoneToIana('GMT Standard Time')).toBe('Europe/London');
    expect(windowsZoneToIana('Pacific Standard Time')).toBe('America/Los_Angeles');
    expect(windowsZoneToIana('tokyo standard time')).toBe('Asia/Tokyo');
    expect(windowsZoneToIana('Nowhere Standard Time')).toBeNull();
  });

  it('has ~140 entries, every target known to the runtime tz database', () => {
    const entries = Object.entries(WINDOWS_ZONES);
    expect(entries.length).toBeGreaterThan(135);
    for (const [, iana] of entries) expect(ianaZone(iana), iana).not.toBeNull();
  });
});

describe('zones', () => {
  it('an embedded VTIMEZONE wins over the IANA zone of the same name', () => {
    // A made-up "Europe/Paris" fixed at +03:00: the embedded definition must be used.
    const vtz = ['BEGIN:VTIMEZONE', 'TZID:Europe/Paris', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0300', 'TZOFFSETTO:+0300', 'END:STANDARD', 'END:VTIMEZONE'];
    const obj = parseCalendarObject(ics(['DTSTART;TZID=Europe/Paris:20260701T120000'], vtz));
    expect(obj.master?.start.toISOString()).toBe('2026-07-01T09:00:00.000Z');
    expect(obj.text).toContain('TZOFFSETTO:+0300');
  });

  it('a VTIMEZONE with a vendor path resolves its IANA name for display; unused VTIMEZONEs are dropped', () => {
    const vtz = (tzid: string): string[] => ['BEGIN:VTIMEZONE', `TZID:${tzid}`, 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+0900', 'TZOFFSETTO:+0900', 'END:STANDARD', 'END:VTIMEZONE'];
    const obj = parseCalendarObject(ics(['DTSTART;TZID=/mozilla.org/20050126_1/Asia/Tokyo:20260701T120000'], [...vtz('/mozilla.org/20050126_1/Asia/Tokyo'), ...vtz('Unused/Zone')]));
    expect(obj.master?.tzid).toBe('Asia/Tokyo');
    expect(obj.text).not.toContain('Unused/Zone');
  });

  it("Outlook's VTIMEZONE with 1601 rules agrees with the tz database across years", () => {
    const vtz = [
      'BEGIN:VTIMEZONE', 'TZID:Eastern Standard Time',
      'BEGIN:STANDARD', 'DTSTART:16011104T020000', 'RRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'END:STANDARD',
      'BEGIN:DAYLIGHT', 'DTSTART:16010311T020000', 'RRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'END:DAYLIGHT',
      'END:VTIMEZONE',
    ];
    const embedded = parseCalendarObject(ics(['DTSTART;TZID=Eastern Standard Time:20260101T093000', 'RRULE:FREQ=DAILY'], vtz));
    const iana = parseCalendarObject(ics(['DTSTART;TZID=America/New_York:20260101T093000', 'RRULE:FREQ=DAILY']));
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2029-01-01T00:00:00Z');
    const a = expandInstances(embedded, from, to).map((i) => i.start.toISOString());
    const b = expandInstances(iana, from, to).map((i) => i.start.toISOString());
    expect(a.length).toBeGreaterThan(1000);
    expect(a).toEqual(b);
  });

  it('a VTIMEZONE with several observances and UNTIL-bounded rules (the 2007 US change) agrees with the tz database', () => {
    const vtz = [
      'BEGIN:VTIMEZONE', 'TZID:US-Eastern', 'X-LIC-LOCATION:America/New_York',
      'BEGIN:DAYLIGHT', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'DTSTART:19870405T020000', 'RRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z', 'END:DAYLIGHT',
      'BEGIN:DAYLIGHT', 'TZOFFSETFROM:-0500', 'TZOFFSETTO:-0400', 'DTSTART:20070311T020000', 'RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU', 'END:DAYLIGHT',
      'BEGIN:STANDARD', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'DTSTART:19671029T020000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z', 'END:STANDARD',
      'BEGIN:STANDARD', 'TZOFFSETFROM:-0400', 'TZOFFSETTO:-0500', 'DTSTART:20071104T020000', 'RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU', 'END:STANDARD',
      'END:VTIMEZONE',
    ];
    const embedded = parseCalendarObject(ics(['DTSTART;TZID=US-Eastern:20050101T013000', 'RRULE:FREQ=DAILY'], vtz));
    expect(embedded.master?.tzid).toBe('America/New_York'); // named through X-LIC-LOCATION
    const iana = parseCalendarObject(ics(['DTSTART;TZID=America/New_York:20050101T013000', 'RRULE:FREQ=DAILY']));
    const from = new Date('2005-01-01T00:00:00Z');
    const to = new Date('2009-01-01T00:00:00Z');
    const a = expandInstances(embedded, from, to).map((i) => i.start.toISOString());
    expect(a).toEqual(expandInstances(iana, from, to).map((i) => i.start.toISOString()));
    expect(a).toContain('2006-10-29T05:30:00.000Z'); // 01:30 on the fall-back day: the first (EDT) one
  });

  it('converts wall-clock time per RFC 5545 §3.3.5 (gap forward, overlap first)', () => {
    const ny = ianaZone('America/New_York')!;
    expect(new Date(toUtc(ny, localOf(2007, 3, 11, 2, 30))).toISOString()).toBe('2007-03-11T07:30:00.000Z'); // 3:30 EDT
    expect(new Date(toUtc(ny, localOf(2007, 11, 4, 1, 30))).toISOString()).toBe('2007-11-04T05:30:00.000Z'); // 1:30 EDT
    const kolkata = ianaZone('Asia/Kolkata')!;
    expect(new Date(toUtc(kolkata, localOf(2026, 12, 10, 14, 30))).toISOString()).toBe('2026-12-10T09:00:00.000Z');
    const chatham = ianaZone('Pacific/Chatham')!; // +13:45 in southern summer
    expect(new Date(toUtc(chatham, localOf(2026, 1, 1, 13, 45))).toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('civil date arithmetic', () => {
  it('matches Date for dates from year 1 to 9999', () => {
    for (let i = 0; i < 5000; i++) {
      const days = Math.floor(-719_162 + Math.random() * (2_932_896 + 719_162));
      const d = new Date(days * 86_400_000);
      expect(civilFromDays(days)).toEqual({ year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() });
      expect(daysFromCivil(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate())).toBe(days);
    }
    expect(fieldsOf(localOf(1601, 11, 4, 2, 0, 59))).toEqual({ year: 1601, month: 11, day: 4, hour: 2, minute: 0, second: 59 });
  });
});
