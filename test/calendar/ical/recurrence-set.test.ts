import { describe, expect, it } from 'vitest';
import { expandInstances, iterationStats, parseCalendarObject } from '../../../server/calendar/ical/index.ts';
import { expand, ics, locals } from './helpers.ts';

/** RDATE, EXDATE, overrides, RANGE=THISANDFUTURE, bounds and windowing. */

const NY = 'DTSTART;TZID=America/New_York';

/** A VCALENDAR with several VEVENTs (master + overrides) of UID test-1. */
function multi(...events: string[][]): string {
  const body = events.flatMap((e) => ['BEGIN:VEVENT', 'UID:test-1', 'DTSTAMP:20260101T000000Z', ...e, 'END:VEVENT']);
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci tests//EN', ...body, 'END:VCALENDAR', ''].join('\r\n');
}

describe('recurrence set', () => {
  it('EXDATE removes instances; RDATE adds them (DATE-TIME and PERIOD); EXDATE beats RDATE', () => {
    const text = ics([
      `${NY}:20260105T100000`,
      'DTEND;TZID=America/New_York:20260105T110000',
      'RRULE:FREQ=DAILY;COUNT=5',
      'EXDATE;TZID=America/New_York:20260106T100000,20260108T100000',
      'RDATE;TZID=America/New_York:20260110T150000',
      'RDATE;VALUE=PERIOD:20260112T120000Z/PT3H',
      'RDATE;TZID=America/New_York:20260114T100000',
      'EXDATE;TZID=America/New_York:20260114T100000',
    ]);
    const got = expand(text, '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
    expect(got.map((i) => `${i.startLocal}/${i.endLocal.slice(11)}`)).toEqual([
      '2026-01-05T10:00:00/11:00:00',
      '2026-01-07T10:00:00/11:00:00',
      '2026-01-09T10:00:00/11:00:00',
      '2026-01-10T15:00:00/16:00:00',
      '2026-01-12T07:00:00/10:00:00',
    ]);
    expect(got.map((i) => i.recurrenceId)).toEqual(['20260105T150000Z', '20260107T150000Z', '20260109T150000Z', '20260110T200000Z', '20260112T120000Z']);
  });

  it('an override moves one instance (into another window) and keeps its own properties', () => {
    const text = multi(
      [`${NY}:20260105T100000`, 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY;COUNT=4', 'SUMMARY:weekly'],
      ['RECURRENCE-ID;TZID=America/New_York:20260112T100000', `${NY}:20260201T080000`, 'DURATION:PT2H', 'SUMMARY:moved', 'TRANSP:TRANSPARENT'],
    );
    const obj = parseCalendarObject(text);
    const january = expandInstances(obj, new Date('2026-01-01T00:00:00Z'), new Date('2026-01-31T00:00:00Z'));
    expect(locals(january)).toEqual(['2026-01-05T10:00', '2026-01-19T10:00', '2026-01-26T10:00']);
    const february = expandInstances(obj, new Date('2026-01-31T00:00:00Z'), new Date('2026-03-01T00:00:00Z'));
    expect(february).toHaveLength(1);
    expect(february[0]).toMatchObject({ recurrenceId: '20260112T150000Z', startLocal: '2026-02-01T08:00:00', endLocal: '2026-02-01T10:00:00', summary: 'moved', busyType: 'FREE', transparent: true, isOverride: true });
    expect(obj.lastEnd?.toISOString()).toBe('2026-02-01T15:00:00.000Z');
  });

  it('RANGE=THISANDFUTURE shifts that instance and all later ones, keeping exact overrides', () => {
    const text = multi(
      [`${NY}:20260105T100000`, 'DURATION:PT1H', 'RRULE:FREQ=DAILY;COUNT=6', 'SUMMARY:daily'],
      ['RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=America/New_York:20260107T100000', `${NY}:20260107T143000`, 'DURATION:PT30M', 'SUMMARY:afternoon now'],
      ['RECURRENCE-ID;TZID=America/New_York:20260109T100000', `${NY}:20260109T090000`, 'DURATION:PT1H', 'SUMMARY:one-off'],
    );
    const obj = parseCalendarObject(text);
    expect(obj.overrides.map((o) => o.thisAndFuture)).toEqual([true, false]);
    const got = expandInstances(obj, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
    expect(got.map((i) => `${i.startLocal.slice(5, 16)}-${i.endLocal.slice(11, 16)} ${i.summary}`)).toEqual([
      '01-05T10:00-11:00 daily',
      '01-06T10:00-11:00 daily',
      '01-07T14:30-15:00 afternoon now',
      '01-08T14:30-15:00 afternoon now',
      '01-09T09:00-10:00 one-off',
      '01-10T14:30-15:00 afternoon now',
    ]);
    expect(got[3]!.recurrenceId).toBe('20260108T150000Z');
  });

  it('an object holding only overrides expands to those overrides', () => {
    const text = multi(['RECURRENCE-ID:20260107T150000Z', 'DTSTART:20260107T160000Z', 'DTEND:20260107T170000Z', 'SUMMARY:invited to one']);
    const obj = parseCalendarObject(text);
    expect(obj.master).toBeNull();
    expect(obj.recurring).toBe(true);
    const got = expandInstances(obj, new Date('2026-01-01T00:00:00Z'), new Date('2026-02-01T00:00:00Z'));
    expect(got.map((i) => [i.recurrenceId, i.start.toISOString()])).toEqual([['20260107T150000Z', '2026-01-07T16:00:00.000Z']]);
  });

  it('floating and all-day recurrence ids use their local forms', () => {
    const floating = expand(ics(['DTSTART:20260105T100000', 'RRULE:FREQ=DAILY;COUNT=2']), '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
    expect(floating.map((i) => [i.recurrenceId, i.floating, i.tzid, i.start.toISOString()])).toEqual([
      ['20260105T100000', true, null, '2026-01-05T10:00:00.000Z'],
      ['20260106T100000', true, null, '2026-01-06T10:00:00.000Z'],
    ]);
    const allDay = expand(ics(['DTSTART;VALUE=DATE:20260105', 'RRULE:FREQ=WEEKLY;COUNT=2', 'EXDATE;VALUE=DATE:20260112']), '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z');
    expect(allDay.map((i) => [i.recurrenceId, i.startLocal, i.endLocal])).toEqual([['20260105', '2026-01-05', '2026-01-06']]);
  });

  it('DURATION is nominal across DST (P1D keeps the wall time); DTEND is exact', () => {
    const nominal = expand(ics([`${NY}:20260307T120000`, 'DURATION:P1D']), '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z');
    expect(nominal[0]!.endLocal).toBe('2026-03-08T12:00:00');
    expect(nominal[0]!.end.getTime() - nominal[0]!.start.getTime()).toBe(23 * 3_600_000);
    const exact = expand(
      ics([`${NY}:20260306T120000`, 'DTEND;TZID=America/New_York:20260307T120000', 'RRULE:FREQ=DAILY;COUNT=2']),
      '2026-03-01T00:00:00Z',
      '2026-04-01T00:00:00Z',
    );
    // The second instance keeps the 24 h exact duration of DTEND − DTSTART, ending at 13:00 EDT.
    expect(exact.map((i) => i.endLocal)).toEqual(['2026-03-07T12:00:00', '2026-03-08T13:00:00']);
  });

  it('DST: a daily 02:30 in the spring gap moves forward by the gap; in the autumn overlap the first 01:30 is used', () => {
    const spring = expand(ics([`${NY}:20260307T023000`, 'DURATION:PT30M', 'RRULE:FREQ=DAILY;COUNT=3']), '2026-03-01T00:00:00Z', '2026-04-01T00:00:00Z');
    expect(spring.map((i) => [i.startLocal, i.start.toISOString()])).toEqual([
      ['2026-03-07T02:30:00', '2026-03-07T07:30:00.000Z'],
      ['2026-03-08T03:30:00', '2026-03-08T07:30:00.000Z'],
      ['2026-03-09T02:30:00', '2026-03-09T06:30:00.000Z'],
    ]);
    const autumn = expand(ics([`${NY}:20261031T013000`, 'DURATION:PT30M', 'RRULE:FREQ=DAILY;COUNT=3']), '2026-10-01T00:00:00Z', '2026-12-01T00:00:00Z');
    expect(autumn.map((i) => i.start.toISOString())).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
  });

  it('HOURLY across the spring gap lists each instant once', () => {
    const got = expand(ics([`${NY}:20260308T000000`, 'RRULE:FREQ=HOURLY;COUNT=5']), '2026-03-07T00:00:00Z', '2026-03-09T00:00:00Z');
    expect(got.map((i) => i.startLocal.slice(11, 16))).toEqual(['00:00', '01:00', '03:00', '04:00']);
    expect(new Set(got.map((i) => i.recurrenceId)).size).toBe(got.length);
  });

  it('DATE UNTIL on a timed series keeps that whole day; UNTIL before DTSTART leaves DTSTART alone', () => {
    expect(locals(expand(ics([`${NY}:20260105T100000`, 'RRULE:FREQ=DAILY;UNTIL=20260107']), '2026-01-01T00:00:00Z', '2026-02-01T00:00:00Z'))).toEqual([
      '2026-01-05T10:00',
      '2026-01-06T10:00',
      '2026-01-07T10:00',
    ]);
    expect(locals(expand(ics([`${NY}:20260105T100000`, 'RRULE:FREQ=DAILY;UNTIL=20250101T000000Z']), '2025-01-01T00:00:00Z', '2027-01-01T00:00:00Z'))).toEqual(['2026-01-05T10:00']);
  });

  it('firstStart skips an excluded DTSTART; lastEnd is null for an unbounded series', () => {
    const obj = parseCalendarObject(ics([`${NY}:20260105T100000`, 'DURATION:PT1H', 'RRULE:FREQ=WEEKLY', 'EXDATE;TZID=America/New_York:20260105T100000']));
    expect(obj.firstStart.toISOString()).toBe('2026-01-12T15:00:00.000Z');
    expect(obj.lastEnd).toBeNull();
    expect(obj.recurring).toBe(true);
  });

  it('a window over a ten-year-old daily series starts near the window, not at DTSTART', () => {
    const obj = parseCalendarObject(ics([`${NY}:20160110T090000`, 'DURATION:PT30M', 'RRULE:FREQ=DAILY']));
    const before = iterationStats.periods;
    const got = expandInstances(obj, new Date('2026-03-01T00:00:00Z'), new Date('2026-04-01T00:00:00Z'));
    const periods = iterationStats.periods - before;
    expect(got).toHaveLength(31);
    expect(got[0]!.startLocal).toBe('2026-03-01T09:00:00');
    expect(periods).toBeLessThan(40); // ~3,700 from DTSTART
  });

  it('with COUNT a simple daily series skips whole periods arithmetically and still ends where COUNT says', () => {
    const obj = parseCalendarObject(ics([`${NY}:20160110T090000`, 'DURATION:PT30M', 'RRULE:FREQ=DAILY;COUNT=4000']));
    const before = iterationStats.periods;
    const got = expandInstances(obj, new Date('2026-12-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    expect(iterationStats.periods - before).toBeLessThan(40);
    // Instance 4000 is DTSTART + 3999 days: 3653 days to 2026-01-10, then 346 more = 2026-12-22.
    expect(got.at(-1)!.startLocal).toBe('2026-12-22T09:00:00');
    expect(got).toHaveLength(22);
    expect(obj.lastEnd?.toISOString()).toBe('2026-12-22T14:30:00.000Z');
  });

  it('weekly with BYDAY and COUNT skips arithmetically too', () => {
    const text = ics([`${NY}:20160104T090000`, 'RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=2000']);
    const from = new Date('2026-01-01T00:00:00Z');
    const to = new Date('2026-02-01T00:00:00Z');
    const obj = parseCalendarObject(text);
    const before = iterationStats.periods;
    const windowed = expandInstances(obj, from, to);
    expect(iterationStats.periods - before).toBeLessThan(12);
    // Same answer as walking the whole series.
    const all = expandInstances(parseCalendarObject(text), new Date('2016-01-01T00:00:00Z'), to, { maxBytes: 1 << 20, maxOverrides: 10, maxInstancesPerExpansion: 2000, maxExpansionSteps: Infinity });
    expect(windowed.map((i) => i.recurrenceId)).toEqual(all.filter((i) => i.start >= from).map((i) => i.recurrenceId));
    expect(windowed.length).toBeGreaterThan(10);
    // lastEnd (found near the estimated end, not by walking) agrees with a full walk.
    const walk = expandInstances(obj, new Date('2016-01-01T00:00:00Z'), new Date('2030-01-01T00:00:00Z'), { maxBytes: 1 << 20, maxOverrides: 10, maxInstancesPerExpansion: 3000, maxExpansionSteps: Infinity });
    expect(walk).toHaveLength(2000);
    expect(obj.lastEnd).toEqual(walk.at(-1)!.end);
  });

  it('throws LIMIT_EXCEEDED past maxInstancesPerExpansion', () => {
    const obj = parseCalendarObject(ics([`${NY}:20260101T000000`, 'RRULE:FREQ=HOURLY']));
    expect(() => expandInstances(obj, new Date('2026-01-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'))).toThrow(
      expect.objectContaining({ code: 'LIMIT_EXCEEDED' }),
    );
  });
});
