import { describe, expect, it } from 'vitest';
import { at, expand, ics, locals, rfc } from './helpers.ts';

/**
 * Every RRULE example of RFC 5545 §3.8.5.3, with DTSTART;TZID=America/New_York
 * as in the RFC, asserting the wall-clock starts the RFC lists (and, where
 * the list crosses a DST change, the UTC instants).
 */
const T = '09:00';

describe('RFC 5545 §3.8.5.3 examples', () => {
  it('Daily for 10 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=DAILY;COUNT=10')).toEqual(at(T, '1997-09', 2, 3, 4, 5, 6, 7, 8, 9, 10, 11));
  });

  it('Daily until December 24, 1997 (EDT then EST)', () => {
    const expected = [
      ...at(T, '1997-09', ...Array.from({ length: 29 }, (_, i) => i + 2)),
      ...at(T, '1997-10', ...Array.from({ length: 31 }, (_, i) => i + 1)),
      ...at(T, '1997-11', ...Array.from({ length: 30 }, (_, i) => i + 1)),
      ...at(T, '1997-12', ...Array.from({ length: 23 }, (_, i) => i + 1)),
    ];
    expect(rfc('19970902T090000', 'FREQ=DAILY;UNTIL=19971224T000000Z')).toEqual(expected);
    const text = ics(['DTSTART;TZID=America/New_York:19970902T090000', 'RRULE:FREQ=DAILY;UNTIL=19971224T000000Z']);
    const utc = expand(text, '1997-10-25T00:00:00Z', '1997-10-28T00:00:00Z').map((i) => i.start.toISOString());
    expect(utc).toEqual(['1997-10-25T13:00:00.000Z', '1997-10-26T14:00:00.000Z', '1997-10-27T14:00:00.000Z']);
  });

  it('Every other day - forever', () => {
    const got = rfc('19970902T090000', 'FREQ=DAILY;INTERVAL=2', { years: 1 });
    expect(got.slice(0, 15)).toEqual(at(T, '1997-09', 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    expect(got.slice(15, 30)).toEqual(at(T, '1997-10', 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
    expect(got.slice(30, 45)).toEqual(at(T, '1997-11', 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29));
    expect(got.slice(45, 50)).toEqual(at(T, '1997-12', 1, 3, 5, 7, 9));
  });

  it('Every 10 days, 5 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=DAILY;INTERVAL=10;COUNT=5')).toEqual([...at(T, '1997-09', 2, 12, 22), ...at(T, '1997-10', 2, 12)]);
  });

  it('Every day in January, for 3 years (YEARLY and DAILY forms)', () => {
    const all = Array.from({ length: 31 }, (_, i) => i + 1);
    const expected = [...at(T, '1998-01', ...all), ...at(T, '1999-01', ...all), ...at(T, '2000-01', ...all)];
    expect(rfc('19980101T090000', 'FREQ=YEARLY;UNTIL=20000131T140000Z;BYMONTH=1;BYDAY=SU,MO,TU,WE,TH,FR,SA')).toEqual(expected);
    expect(rfc('19980101T090000', 'FREQ=DAILY;UNTIL=20000131T140000Z;BYMONTH=1')).toEqual(expected);
  });

  it('Weekly for 10 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;COUNT=10')).toEqual([...at(T, '1997-09', 2, 9, 16, 23, 30), ...at(T, '1997-10', 7, 14, 21, 28), ...at(T, '1997-11', 4)]);
  });

  it('Weekly until December 24, 1997', () => {
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;UNTIL=19971224T000000Z')).toEqual([
      ...at(T, '1997-09', 2, 9, 16, 23, 30),
      ...at(T, '1997-10', 7, 14, 21, 28),
      ...at(T, '1997-11', 4, 11, 18, 25),
      ...at(T, '1997-12', 2, 9, 16, 23),
    ]);
  });

  it('Every other week - forever', () => {
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;INTERVAL=2;WKST=SU', { take: 13 })).toEqual([
      ...at(T, '1997-09', 2, 16, 30),
      ...at(T, '1997-10', 14, 28),
      ...at(T, '1997-11', 11, 25),
      ...at(T, '1997-12', 9, 23),
      ...at(T, '1998-01', 6, 20),
      ...at(T, '1998-02', 3, 17),
    ]);
  });

  it('Weekly on Tuesday and Thursday for five weeks (UNTIL and COUNT forms)', () => {
    const expected = [...at(T, '1997-09', 2, 4, 9, 11, 16, 18, 23, 25, 30), ...at(T, '1997-10', 2)];
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;UNTIL=19971007T000000Z;WKST=SU;BYDAY=TU,TH')).toEqual(expected);
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;COUNT=10;WKST=SU;BYDAY=TU,TH')).toEqual(expected);
  });

  it('Every other week on Monday, Wednesday, and Friday until December 24, 1997', () => {
    expect(rfc('19970901T090000', 'FREQ=WEEKLY;INTERVAL=2;UNTIL=19971224T000000Z;WKST=SU;BYDAY=MO,WE,FR')).toEqual([
      ...at(T, '1997-09', 1, 3, 5, 15, 17, 19, 29),
      ...at(T, '1997-10', 1, 3, 13, 15, 17, 27, 29, 31),
      ...at(T, '1997-11', 10, 12, 14, 24, 26, 28),
      ...at(T, '1997-12', 8, 10, 12, 22),
    ]);
  });

  it('Every other week on Tuesday and Thursday, for 8 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=WEEKLY;INTERVAL=2;COUNT=8;WKST=SU;BYDAY=TU,TH')).toEqual([...at(T, '1997-09', 2, 4, 16, 18, 30), ...at(T, '1997-10', 2, 14, 16)]);
  });

  it('Monthly on the first Friday for 10 occurrences', () => {
    expect(rfc('19970905T090000', 'FREQ=MONTHLY;COUNT=10;BYDAY=1FR')).toEqual([
      ...at(T, '1997-09', 5),
      ...at(T, '1997-10', 3),
      ...at(T, '1997-11', 7),
      ...at(T, '1997-12', 5),
      ...at(T, '1998-01', 2),
      ...at(T, '1998-02', 6),
      ...at(T, '1998-03', 6),
      ...at(T, '1998-04', 3),
      ...at(T, '1998-05', 1),
      ...at(T, '1998-06', 5),
    ]);
  });

  it('Monthly on the first Friday until December 24, 1997', () => {
    expect(rfc('19970905T090000', 'FREQ=MONTHLY;UNTIL=19971224T000000Z;BYDAY=1FR')).toEqual([
      ...at(T, '1997-09', 5),
      ...at(T, '1997-10', 3),
      ...at(T, '1997-11', 7),
      ...at(T, '1997-12', 5),
    ]);
  });

  it('Every other month on the first and last Sunday of the month for 10 occurrences', () => {
    expect(rfc('19970907T090000', 'FREQ=MONTHLY;INTERVAL=2;COUNT=10;BYDAY=1SU,-1SU')).toEqual([
      ...at(T, '1997-09', 7, 28),
      ...at(T, '1997-11', 2, 30),
      ...at(T, '1998-01', 4, 25),
      ...at(T, '1998-03', 1, 29),
      ...at(T, '1998-05', 3, 31),
    ]);
  });

  it('Monthly on the second-to-last Monday of the month for 6 months', () => {
    expect(rfc('19970922T090000', 'FREQ=MONTHLY;COUNT=6;BYDAY=-2MO')).toEqual([
      ...at(T, '1997-09', 22),
      ...at(T, '1997-10', 20),
      ...at(T, '1997-11', 17),
      ...at(T, '1997-12', 22),
      ...at(T, '1998-01', 19),
      ...at(T, '1998-02', 16),
    ]);
  });

  it('Monthly on the third-to-the-last day of the month, forever', () => {
    expect(rfc('19970928T090000', 'FREQ=MONTHLY;BYMONTHDAY=-3', { take: 6 })).toEqual([
      ...at(T, '1997-09', 28),
      ...at(T, '1997-10', 29),
      ...at(T, '1997-11', 28),
      ...at(T, '1997-12', 29),
      ...at(T, '1998-01', 29),
      ...at(T, '1998-02', 26),
    ]);
  });

  it('Monthly on the 2nd and 15th of the month for 10 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15')).toEqual([
      ...at(T, '1997-09', 2, 15),
      ...at(T, '1997-10', 2, 15),
      ...at(T, '1997-11', 2, 15),
      ...at(T, '1997-12', 2, 15),
      ...at(T, '1998-01', 2, 15),
    ]);
  });

  it('Monthly on the first and last day of the month for 10 occurrences', () => {
    expect(rfc('19970930T090000', 'FREQ=MONTHLY;COUNT=10;BYMONTHDAY=1,-1')).toEqual([
      ...at(T, '1997-09', 30),
      ...at(T, '1997-10', 1, 31),
      ...at(T, '1997-11', 1, 30),
      ...at(T, '1997-12', 1, 31),
      ...at(T, '1998-01', 1, 31),
      ...at(T, '1998-02', 1),
    ]);
  });

  it('Every 18 months on the 10th thru 15th of the month for 10 occurrences', () => {
    expect(rfc('19970910T090000', 'FREQ=MONTHLY;INTERVAL=18;COUNT=10;BYMONTHDAY=10,11,12,13,14,15')).toEqual([
      ...at(T, '1997-09', 10, 11, 12, 13, 14, 15),
      ...at(T, '1999-03', 10, 11, 12, 13),
    ]);
  });

  it('Every Tuesday, every other month', () => {
    expect(rfc('19970902T090000', 'FREQ=MONTHLY;INTERVAL=2;BYDAY=TU', { take: 18 })).toEqual([
      ...at(T, '1997-09', 2, 9, 16, 23, 30),
      ...at(T, '1997-11', 4, 11, 18, 25),
      ...at(T, '1998-01', 6, 13, 20, 27),
      ...at(T, '1998-03', 3, 10, 17, 24, 31),
    ]);
  });

  it('Yearly in June and July for 10 occurrences', () => {
    const expected = [1997, 1998, 1999, 2000, 2001].flatMap((y) => [...at(T, `${y}-06`, 10), ...at(T, `${y}-07`, 10)]);
    expect(rfc('19970610T090000', 'FREQ=YEARLY;COUNT=10;BYMONTH=6,7')).toEqual(expected);
  });

  it('Every other year on January, February, and March for 10 occurrences', () => {
    expect(rfc('19970310T090000', 'FREQ=YEARLY;INTERVAL=2;COUNT=10;BYMONTH=1,2,3')).toEqual([
      ...at(T, '1997-03', 10),
      ...[1999, 2001, 2003].flatMap((y) => [...at(T, `${y}-01`, 10), ...at(T, `${y}-02`, 10), ...at(T, `${y}-03`, 10)]),
    ]);
  });

  it('Every third year on the 1st, 100th, and 200th day for 10 occurrences', () => {
    expect(rfc('19970101T090000', 'FREQ=YEARLY;INTERVAL=3;COUNT=10;BYYEARDAY=1,100,200')).toEqual([
      ...at(T, '1997-01', 1),
      ...at(T, '1997-04', 10),
      ...at(T, '1997-07', 19),
      ...at(T, '2000-01', 1),
      ...at(T, '2000-04', 9),
      ...at(T, '2000-07', 18),
      ...at(T, '2003-01', 1),
      ...at(T, '2003-04', 10),
      ...at(T, '2003-07', 19),
      ...at(T, '2006-01', 1),
    ]);
  });

  it('Every 20th Monday of the year, forever (ical.js 2.2.1 gets this wrong)', () => {
    expect(rfc('19970519T090000', 'FREQ=YEARLY;BYDAY=20MO', { take: 3 })).toEqual([...at(T, '1997-05', 19), ...at(T, '1998-05', 18), ...at(T, '1999-05', 17)]);
  });

  it('Monday of week number 20 (where the default start of the week is Monday), forever (ical.js 2.2.1 gets this wrong)', () => {
    expect(rfc('19970512T090000', 'FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO', { take: 3 })).toEqual([...at(T, '1997-05', 12), ...at(T, '1998-05', 11), ...at(T, '1999-05', 17)]);
  });

  it('Every Thursday in March, forever', () => {
    expect(rfc('19970313T090000', 'FREQ=YEARLY;BYMONTH=3;BYDAY=TH', { take: 11 })).toEqual([
      ...at(T, '1997-03', 13, 20, 27),
      ...at(T, '1998-03', 5, 12, 19, 26),
      ...at(T, '1999-03', 4, 11, 18, 25),
    ]);
  });

  it('Every Thursday, but only during June, July, and August, forever', () => {
    expect(rfc('19970605T090000', 'FREQ=YEARLY;BYDAY=TH;BYMONTH=6,7,8', { take: 39 })).toEqual([
      ...at(T, '1997-06', 5, 12, 19, 26),
      ...at(T, '1997-07', 3, 10, 17, 24, 31),
      ...at(T, '1997-08', 7, 14, 21, 28),
      ...at(T, '1998-06', 4, 11, 18, 25),
      ...at(T, '1998-07', 2, 9, 16, 23, 30),
      ...at(T, '1998-08', 6, 13, 20, 27),
      ...at(T, '1999-06', 3, 10, 17, 24),
      ...at(T, '1999-07', 1, 8, 15, 22, 29),
      ...at(T, '1999-08', 5, 12, 19, 26),
    ]);
  });

  it('Every Friday the 13th, forever (DTSTART excluded by EXDATE)', () => {
    expect(
      rfc('19970902T090000', 'FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13', { take: 5, extra: ['EXDATE;TZID=America/New_York:19970902T090000'] }),
    ).toEqual([...at(T, '1998-02', 13), ...at(T, '1998-03', 13), ...at(T, '1998-11', 13), ...at(T, '1999-08', 13), ...at(T, '2000-10', 13)]);
  });

  it('The first Saturday that follows the first Sunday of the month, forever', () => {
    expect(rfc('19970913T090000', 'FREQ=MONTHLY;BYDAY=SA;BYMONTHDAY=7,8,9,10,11,12,13', { take: 10 })).toEqual([
      ...at(T, '1997-09', 13),
      ...at(T, '1997-10', 11),
      ...at(T, '1997-11', 8),
      ...at(T, '1997-12', 13),
      ...at(T, '1998-01', 10),
      ...at(T, '1998-02', 7),
      ...at(T, '1998-03', 7),
      ...at(T, '1998-04', 11),
      ...at(T, '1998-05', 9),
      ...at(T, '1998-06', 13),
    ]);
  });

  it('Every 4 years, the first Tuesday after a Monday in November, forever (U.S. Presidential Election day)', () => {
    expect(rfc('19961105T090000', 'FREQ=YEARLY;INTERVAL=4;BYMONTH=11;BYDAY=TU;BYMONTHDAY=2,3,4,5,6,7,8', { take: 3 })).toEqual([
      ...at(T, '1996-11', 5),
      ...at(T, '2000-11', 7),
      ...at(T, '2004-11', 2),
    ]);
  });

  it('The third instance into the month of one of Tuesday, Wednesday, or Thursday, for the next 3 months (BYSETPOS)', () => {
    expect(rfc('19970904T090000', 'FREQ=MONTHLY;COUNT=3;BYDAY=TU,WE,TH;BYSETPOS=3')).toEqual([...at(T, '1997-09', 4), ...at(T, '1997-10', 7), ...at(T, '1997-11', 6)]);
  });

  it('The second-to-last weekday of the month', () => {
    expect(rfc('19970929T090000', 'FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2', { take: 7 })).toEqual([
      ...at(T, '1997-09', 29),
      ...at(T, '1997-10', 30),
      ...at(T, '1997-11', 27),
      ...at(T, '1997-12', 30),
      ...at(T, '1998-01', 29),
      ...at(T, '1998-02', 26),
      ...at(T, '1998-03', 30),
    ]);
  });

  it('Every 3 hours from 9:00 AM to 5:00 PM on a specific day', () => {
    // The RFC writes UNTIL=19970902T170000Z (13:00 EDT) yet lists 15:00; 17:00 EDT (21:00Z) is what the text means.
    expect(rfc('19970902T090000', 'FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T210000Z')).toEqual(['1997-09-02T09:00', '1997-09-02T12:00', '1997-09-02T15:00']);
    // Read literally, UNTIL is inclusive at 13:00 EDT.
    expect(rfc('19970902T090000', 'FREQ=HOURLY;INTERVAL=3;UNTIL=19970902T170000Z')).toEqual(['1997-09-02T09:00', '1997-09-02T12:00']);
  });

  it('Every 15 minutes for 6 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=MINUTELY;INTERVAL=15;COUNT=6')).toEqual(
      ['09:00', '09:15', '09:30', '09:45', '10:00', '10:15'].map((t) => `1997-09-02T${t}`),
    );
  });

  it('Every hour and a half for 4 occurrences', () => {
    expect(rfc('19970902T090000', 'FREQ=MINUTELY;INTERVAL=90;COUNT=4')).toEqual(['09:00', '10:30', '12:00', '13:30'].map((t) => `1997-09-02T${t}`));
  });

  it('Every 20 minutes from 9:00 AM to 4:40 PM every day (DAILY and MINUTELY forms)', () => {
    const day = (d: string): string[] => [9, 10, 11, 12, 13, 14, 15, 16].flatMap((h) => [0, 20, 40].map((m) => `${d}T${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`));
    const expected = [...day('1997-09-02'), ...day('1997-09-03')];
    expect(rfc('19970902T090000', 'FREQ=DAILY;BYHOUR=9,10,11,12,13,14,15,16;BYMINUTE=0,20,40', { take: 48, years: 0.01 })).toEqual(expected);
    expect(rfc('19970902T090000', 'FREQ=MINUTELY;INTERVAL=20;BYHOUR=9,10,11,12,13,14,15,16;UNTIL=19970904T000000Z')).toEqual(expected);
  });

  it('An example where the days generated makes a difference because of WKST', () => {
    expect(rfc('19970805T090000', 'FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=MO')).toEqual(at(T, '1997-08', 5, 10, 19, 24));
    expect(rfc('19970805T090000', 'FREQ=WEEKLY;INTERVAL=2;COUNT=4;BYDAY=TU,SU;WKST=SU')).toEqual(at(T, '1997-08', 5, 17, 19, 31));
  });

  it('An example where an invalid date (i.e., February 30) is ignored', () => {
    expect(rfc('20070115T090000', 'FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5')).toEqual([...at(T, '2007-01', 15, 30), ...at(T, '2007-02', 15), ...at(T, '2007-03', 15, 30)]);
  });
});

describe('RFC 5545 §3.3.10: invalid dates are skipped, not rolled over', () => {
  it('a yearly Feb 29 series occurs only in leap years (ical.js 2.2.1 rolls to Mar 1)', () => {
    expect(rfc('20240229T090000', 'FREQ=YEARLY;COUNT=3', { years: 20 })).toEqual(['2024-02-29T09:00', '2028-02-29T09:00', '2032-02-29T09:00']);
  });

  it('a monthly series on the 31st skips short months and COUNT counts only real dates', () => {
    expect(rfc('20260131T090000', 'FREQ=MONTHLY;COUNT=4')).toEqual(['2026-01-31T09:00', '2026-03-31T09:00', '2026-05-31T09:00', '2026-07-31T09:00']);
  });

  it('FREQ=DAILY;BYMONTHDAY=-1,-2 with a DATE start (ical.js 2.2.1 throws)', () => {
    const text = ics(['DTSTART;VALUE=DATE:20260101', 'RRULE:FREQ=DAILY;BYMONTHDAY=-1,-2;COUNT=6']);
    expect(locals(expand(text, '2026-01-01T00:00:00Z', '2027-01-01T00:00:00Z')).map((s) => s.slice(0, 10))).toEqual([
      '2026-01-01', // DTSTART is always the first instance
      '2026-01-30',
      '2026-01-31',
      '2026-02-27',
      '2026-02-28',
      '2026-03-30',
    ]);
  });
});
