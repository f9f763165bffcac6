import { describe, expect, it } from 'vitest';
import { eventLens, levelOf, mostRestrictive, redactIcs } from '../../server/calendar/privacy/index.ts';
import { wallClockToInstant } from '../../server/calendar/zoned-time.ts';
import { sample } from './helpers.ts';

const id = '0b6f3c1e-7d2a-4c1b-9e8f-1a2b3c4d5e6f';

describe('the view policy', () => {
  it('shows private events in full only to those who may read private', () => {
    expect(levelOf(eventLens({ right: 'owner', mayReadPrivate: true }), 'PRIVATE')).toBe('full');
    expect(levelOf(eventLens({ right: 'read', mayReadPrivate: false }), 'PUBLIC')).toBe('full');
    expect(levelOf(eventLens({ right: 'manage', mayReadPrivate: false }), 'PRIVATE')).toBe('time');
    expect(levelOf(eventLens({ right: 'write', mayReadPrivate: false }), 'CONFIDENTIAL')).toBe('time');
    expect(levelOf(eventLens({ right: 'write', mayReadPrivate: true }), 'CONFIDENTIAL')).toBe('full');
    expect(levelOf(eventLens({ right: 'freebusy', mayReadPrivate: false }), 'PUBLIC')).toBe('none');
  });

  it('treats an object as private as its most private component, and unknown classes as private', () => {
    expect(mostRestrictive(['PUBLIC', 'CONFIDENTIAL', 'PRIVATE'])).toBe('CONFIDENTIAL');
    expect(mostRestrictive(['PUBLIC'])).toBe('PUBLIC');
    expect(mostRestrictive(['PUBLIC', 'X-SECRET'])).toBe('PRIVATE');
  });

  it('redacts an Outlook series to times, recurrence and busy status', () => {
    const text = redactIcs(sample('outlook-weekly-exception.ics'), id, { public: 'time', private: 'time' })!.ics;
    expect(text).toContain('RRULE:FREQ=WEEKLY;COUNT=8;BYDAY=MO');
    expect(text).toMatch(/EXDATE;TZID="?Eastern Standard Time"?:20261109T093000/);
    expect(text).toContain('BEGIN:VTIMEZONE');
    expect(text).toContain('X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE');
    expect(text).toContain(`UID:redacted-${id}@dmci.invalid`);
    expect(text).not.toMatch(/SUMMARY|LOCATION|DESCRIPTION|VALARM|040000008200E00074C5B7101A82E008/);
    const details = redactIcs(sample('outlook-weekly-exception.ics'), id, { public: 'details', private: 'details' })!.ics;
    expect(details).toContain('LOCATION:Room 4.12');
    expect(details).not.toMatch(/DESCRIPTION|VALARM/);
  });
});

describe('wall clock to instant', () => {
  it('handles zones, DST and the gap', () => {
    expect(wallClockToInstant(new Date('2026-12-24T00:00:00Z'), 'Europe/Berlin').toISOString()).toBe('2026-12-23T23:00:00.000Z');
    expect(wallClockToInstant(new Date('2026-07-01T09:00:00Z'), 'America/New_York').toISOString()).toBe('2026-07-01T13:00:00.000Z');
    expect(wallClockToInstant(new Date('2026-12-10T09:00:00Z'), 'Asia/Kolkata').toISOString()).toBe('2026-12-10T03:30:00.000Z');
    // 02:30 does not exist in Berlin on 2026-03-29; it maps to a real instant next to the gap.
    const gap = wallClockToInstant(new Date('2026-03-29T02:30:00Z'), 'Europe/Berlin').toISOString();
    expect(['2026-03-29T00:30:00.000Z', '2026-03-29T01:30:00.000Z']).toContain(gap);
  });
});
