import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { expandInstances, parseCalendarObject, type Instance } from '../../../server/calendar/ical/index.ts';

/** The shared samples (copied to test/fixtures/samples), with exactly the instances their README lists. */
const sample = (name: string): string => readFileSync(new URL(`../../fixtures/samples/${name}`, import.meta.url), 'utf8');
const span = (i: Instance): string => `${i.start.toISOString().slice(0, 16)}/${i.end.toISOString().slice(11, 16)}`;
const YEAR_FROM = new Date('2026-01-01T00:00:00Z');
const YEAR_TO = new Date('2028-01-01T00:00:00Z');

describe('shared samples', () => {
  it('outlook-weekly-exception.ics: Outlook VTIMEZONE, COUNT across DST end, EXDATE, moved override', () => {
    const obj = parseCalendarObject(sample('outlook-weekly-exception.ics'));
    expect(obj.uid).toBe('040000008200E00074C5B7101A82E0080000000010A1B2C3D4E5F601000000000000000010000000AB');
    expect(obj.master?.tzid).toBe('America/New_York');
    expect(obj.master?.tzidOriginal).toBe('Eastern Standard Time');
    expect(obj.recurring).toBe(true);
    expect(obj.overrides).toHaveLength(1);
    expect(obj.overrides[0]!.recurrenceId).toBe('20261102T143000Z');
    const instances = expandInstances(obj, YEAR_FROM, YEAR_TO);
    expect(instances.map(span)).toEqual([
      '2026-10-19T13:30/14:00',
      '2026-10-26T13:30/14:00',
      '2026-11-03T16:00/16:30',
      '2026-11-16T14:30/15:00',
      '2026-11-23T14:30/15:00',
      '2026-11-30T14:30/15:00',
      '2026-12-07T14:30/15:00',
    ]);
    const moved = instances[2]!;
    expect(moved).toMatchObject({ recurrenceId: '20261102T143000Z', isOverride: true, busyType: 'BUSY-TENTATIVE', startLocal: '2026-11-03T11:00:00', location: 'Room 2.01' });
    expect(instances.filter((i) => i !== moved).every((i) => i.busyType === 'BUSY' && !i.isOverride)).toBe(true);
    expect(instances.map((i) => i.startLocal.slice(11))).toEqual(['09:30:00', '09:30:00', '11:00:00', '09:30:00', '09:30:00', '09:30:00', '09:30:00']);
    expect(obj.firstStart.toISOString()).toBe('2026-10-19T13:30:00.000Z');
    expect(obj.lastEnd?.toISOString()).toBe('2026-12-07T15:00:00.000Z');
    // Stored text: CRLF, the VTIMEZONE kept, METHOD dropped, alarm kept.
    expect(obj.text).toMatch(/^BEGIN:VCALENDAR\r\n/);
    expect(obj.text.replace(/\r\n/g, '')).not.toMatch(/\n/);
    expect(obj.text).toContain('BEGIN:VTIMEZONE\r\nTZID:Eastern Standard Time');
    expect(obj.text).not.toContain('METHOD:');
    expect(obj.text).toContain('BEGIN:VALARM');
  });

  it('outlook-no-vtimezone.ics: a Windows zone name without VTIMEZONE across the EU DST start', () => {
    const obj = parseCalendarObject(sample('outlook-no-vtimezone.ics'));
    expect(obj.master?.tzid).toBe('Europe/Berlin');
    expect(expandInstances(obj, YEAR_FROM, YEAR_TO).map(span)).toEqual([
      '2026-03-25T15:00/16:00',
      '2026-03-26T15:00/16:00',
      '2026-03-27T15:00/16:00',
      '2026-03-28T15:00/16:00',
      '2026-03-29T14:00/15:00',
    ]);
    expect(obj.lastEnd?.toISOString()).toBe('2026-03-29T15:00:00.000Z');
  });

  it('allday-oof.ics: one all-day instance over three days, out of office', () => {
    const obj = parseCalendarObject(sample('allday-oof.ics'));
    const [only, ...rest] = expandInstances(obj, YEAR_FROM, YEAR_TO);
    expect(rest).toEqual([]);
    expect(only).toMatchObject({
      recurrenceId: '20261224',
      startLocal: '2026-12-24',
      endLocal: '2026-12-27',
      allDay: true,
      floating: true,
      tzid: null,
      busyType: 'BUSY-UNAVAILABLE',
    });
    expect(only!.start.toISOString()).toBe('2026-12-24T00:00:00.000Z');
    expect(only!.end.toISOString()).toBe('2026-12-27T00:00:00.000Z');
    expect(obj.recurring).toBe(false);
  });

  it('private-tentative-kolkata.ics: CLASS:PRIVATE, STATUS:TENTATIVE, a half-hour offset zone', () => {
    const obj = parseCalendarObject(sample('private-tentative-kolkata.ics'));
    expect(obj.master).toMatchObject({ classification: 'PRIVATE', status: 'TENTATIVE', busyType: 'BUSY-TENTATIVE', tzid: 'Asia/Kolkata' });
    const instances = expandInstances(obj, YEAR_FROM, YEAR_TO);
    expect(instances.map(span)).toEqual(['2026-12-10T09:00/09:45']);
    expect(instances[0]).toMatchObject({ startLocal: '2026-12-10T14:30:00', endLocal: '2026-12-10T15:15:00', classification: 'PRIVATE' });
  });

  it('a window that cuts a series returns only what overlaps it', () => {
    const obj = parseCalendarObject(sample('outlook-weekly-exception.ics'));
    const got = expandInstances(obj, new Date('2026-11-03T16:15:00Z'), new Date('2026-11-23T14:30:00Z'));
    // The moved instance overlaps the window start; 11-23 starts exactly at the (exclusive) end.
    expect(got.map(span)).toEqual(['2026-11-03T16:00/16:30', '2026-11-16T14:30/15:00']);
  });

  it('the stored text parses back to the same object', () => {
    for (const name of ['outlook-weekly-exception.ics', 'outlook-no-vtimezone.ics', 'allday-oof.ics', 'private-tentative-kolkata.ics']) {
      const obj = parseCalendarObject(sample(name));
      const again = parseCalendarObject(obj.text);
      expect(again, name).toEqual(obj);
      expect(again.master?.description ?? null, name).toBe(obj.master?.description ?? null);
    }
    expect(parseCalendarObject(sample('outlook-weekly-exception.ics')).master?.description).toBe('Weekly team sync.\n');
  });

  it('expansion works on a copy of the parsed object (re-parses the stored text)', () => {
    const obj = { ...parseCalendarObject(sample('outlook-weekly-exception.ics')) };
    expect(expandInstances(obj, YEAR_FROM, YEAR_TO)).toHaveLength(7);
  });
});
