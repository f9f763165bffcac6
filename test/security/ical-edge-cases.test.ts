import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10: iCalendar edge cases found by fuzzing CalendarEvent/set.
 * Durations too long for date arithmetic (NaN) and ends past year 9999
 * (which PostgreSQL refuses) gave INTERNAL and failed the whole call; each
 * is now INVALID_ICALENDAR for its own object. Every other odd shape below
 * is either stored or refused per object, its sibling in the same call is
 * stored, nothing logs an error, and every reader path (query, a redacted
 * view, a window sync) still answers.
 */
let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let calendarId: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('alice@example.com');
  await server.createAccount('bob@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  calendarId = (await alice.request('Calendar/get', {})).list[0]!.id;
  await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@example.com': 'read' } } } });
});
afterAll(() => server?.stop());

let serial = 0;
const wrap = (...lines: string[]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//x//EN', ...lines, 'END:VCALENDAR', ''].join('\r\n');
const ev = (...lines: string[]) => wrap('BEGIN:VEVENT', `UID:u-${serial++}`, 'DTSTAMP:20260101T000000Z', ...lines, 'END:VEVENT');
/** Odd and malformed objects; none may give INTERNAL or fail its neighbours. */
const cases: Record<string, string> = {
  durDays: ev('DTSTART:20261201T100000Z', 'DURATION:P999999999D'),
  durSecs: ev('DTSTART:20261201T100000Z', 'DURATION:PT99999999999999S'),
  endMax: ev('DTSTART:99991231T100000Z', 'DTEND:99991231T235959Z'),
  untilMax: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;UNTIL=99991231T000000Z'),
  rdatePeriodHuge: ev('DTSTART:20261201T100000Z', 'RDATE;VALUE=PERIOD:99991231T100000Z/P999W'),
  rdatePeriodNeg: ev('DTSTART:20261201T100000Z', 'RDATE;VALUE=PERIOD:20261205T100000Z/-PT1H'),
  rdatePeriodEndBefore: ev('DTSTART:20261201T100000Z', 'RDATE;VALUE=PERIOD:20261205T100000Z/20261204T100000Z'),
  rdatePeriodBad: ev('DTSTART:20261201T100000Z', 'RDATE;VALUE=PERIOD:20261205T100000Z/garbage'),
  rdatePeriodDate: ev('DTSTART;VALUE=DATE:20261201', 'RDATE;VALUE=PERIOD:20261205T100000Z/PT1H'),
  exdatePeriod: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'EXDATE;VALUE=PERIOD:20261202T100000Z/PT1H'),
  ridPeriod: ev('RECURRENCE-ID;VALUE=PERIOD:20261201T100000Z/PT1H', 'DTSTART:20261201T110000Z'),
  year5: ev('DTSTART:100000101T000000Z'),
  intervalHuge: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;INTERVAL=99999999'),
  countHuge: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;COUNT=99999'),
  untilBad: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;UNTIL=garbage'),
  wkstBad: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=WEEKLY;WKST=XX'),
  bymonthday0: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=MONTHLY;BYMONTHDAY=0'),
  bymonthdayNegDate: ev('DTSTART;VALUE=DATE:20261201', 'RRULE:FREQ=DAILY;BYMONTHDAY=-1,-2;COUNT=4'),
  byyearday0: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;BYYEARDAY=0'),
  byyearday367: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;BYYEARDAY=367'),
  ridMasterRange: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=5').replace('END:VCALENDAR', 'BEGIN:VEVENT\r\nUID:SAME\r\nEND:VEVENT\r\nEND:VCALENDAR'),
  overrideOnly2: wrap('BEGIN:VEVENT', 'UID:oo', 'RECURRENCE-ID:20261201T100000Z', 'DTSTART:20261201T110000Z', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:oo', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20261203T100000Z', 'DTSTART:20261203T120000Z', 'END:VEVENT'),
  overrideRangeWithMaster: wrap('BEGIN:VEVENT', 'UID:om', 'DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=5', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:om', 'RECURRENCE-ID;RANGE=THISANDFUTURE:20261203T100000Z', 'DTSTART:20261203T120000Z', 'DURATION:P99999W', 'END:VEVENT'),
  overrideDateMismatch: wrap('BEGIN:VEVENT', 'UID:od', 'DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=5', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:od', 'RECURRENCE-ID;VALUE=DATE:20261203', 'DTSTART;VALUE=DATE:20261203', 'END:VEVENT'),
  vtzHugeOffset: wrap('BEGIN:VTIMEZONE', 'TZID:H', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:+9959', 'TZOFFSETTO:+9959', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtzh', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=H:20261201T100000', 'END:VEVENT'),
  vtzFarStart: wrap('BEGIN:VTIMEZONE', 'TZID:F', 'BEGIN:STANDARD', 'DTSTART:99990101T000000', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtzf', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=F:20261201T100000', 'END:VEVENT'),
  vtzUntilBad: wrap('BEGIN:VTIMEZONE', 'TZID:U', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=19600101T000000Z', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtzu', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=U:20261201T100000', 'END:VEVENT'),
  dtstartYear9999Tz: ev('DTSTART;TZID=Pacific/Kiritimati:99991231T230000', 'DURATION:PT2H'),
  dtstartYear1Tz: ev('DTSTART;TZID=America/New_York:00010101T000000'),
  dtendVeryLate: ev('DTSTART:20261201T100000Z', 'DTEND:99991231T235959Z', 'RRULE:FREQ=DAILY;COUNT=3'),
  badDate: ev('DTSTART:20261301T100000Z'),
  badDate2: ev('DTSTART:2026-12-01'),
  badDate3: ev('DTSTART;VALUE=DATE:20260230'),
  feb30dt: ev('DTSTART:20260230T100000Z'),
  hour25: ev('DTSTART:20261201T250000Z'),
  noDtstart: ev('SUMMARY:x'),
  emptyDtstart: ev('DTSTART:'),
  missingUid: wrap('BEGIN:VEVENT', 'DTSTART:20261201T100000Z', 'END:VEVENT'),
  weirdTzid: ev('DTSTART;TZID=/mozilla.org/20050126_1/Europe/Berlin:20261201T100000'),
  weirdTzid2: ev('DTSTART;TZID="":20261201T100000'),
  weirdTzid3: ev('DTSTART;TZID=Etc/GMT+99:20261201T100000'),
  tzidUtc: ev('DTSTART;TZID=UTC:20261201T100000'),
  tzidOnDate: ev('DTSTART;VALUE=DATE;TZID=Europe/Berlin:20261201'),
  emptyVcal: wrap(),
  emptyText: ' ',
  onlyBegin: 'BEGIN:VCALENDAR\r\n',
  huge: ev('DTSTART:20261201T100000Z', `DESCRIPTION:${'x'.repeat(200_000)}`),
  valuePeriod: ev('DTSTART;VALUE=PERIOD:20261201T100000Z/20261201T110000Z'),
  dtendPeriod: ev('DTSTART:20261201T100000Z', 'DTEND;VALUE=PERIOD:20261201T100000Z/PT1H'),
  rdatePeriod: ev('DTSTART:20261201T100000Z', 'DURATION:PT1H', 'RDATE;VALUE=PERIOD:20261205T100000Z/20261205T120000Z,20261206T100000Z/PT2H'),
  rdatePeriodTz: ev('DTSTART;TZID=Europe/Berlin:20261201T100000', 'RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20261205T100000/PT2H'),
  rdateDate: ev('DTSTART:20261201T100000Z', 'RDATE;VALUE=DATE:20261205'),
  rdateBad: ev('DTSTART:20261201T100000Z', 'RDATE:garbage'),
  exdateBad: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=3', 'EXDATE:garbage'),
  negDuration: ev('DTSTART:20261201T100000Z', 'DURATION:-PT1H'),
  zeroDuration: ev('DTSTART:20261201T100000Z', 'DURATION:PT0S'),
  badDuration: ev('DTSTART:20261201T100000Z', 'DURATION:P'),
  badDuration2: ev('DTSTART:20261201T100000Z', 'DURATION:garbage'),
  hugeDuration: ev('DTSTART:20261201T100000Z', 'DURATION:P99999999W'),
  dtendBefore: ev('DTSTART:20261201T100000Z', 'DTEND:20261101T100000Z'),
  dtendDateMix: ev('DTSTART;VALUE=DATE:20261201', 'DTEND:20261202T100000Z'),
  onlyRid: ev('RECURRENCE-ID:20261201T100000Z', 'DTSTART:20261201T110000Z'),
  onlyRidNoStart: ev('RECURRENCE-ID:20261201T100000Z'),
  onlyRidDate: ev('RECURRENCE-ID;VALUE=DATE:20261201', 'DTSTART;VALUE=DATE:20261202'),
  ridRange: ev('RECURRENCE-ID;RANGE=THISANDFUTURE:20261201T100000Z', 'DTSTART:20261201T110000Z'),
  rridBad: ev('RECURRENCE-ID:garbage', 'DTSTART:20261201T110000Z'),
  rruleBad: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=FOO'),
  rruleEmpty: ev('DTSTART:20261201T100000Z', 'RRULE:'),
  rruleUntilDate: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;UNTIL=20261205'),
  rruleCount0: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=0'),
  rruleNegCount: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=-1'),
  rruleInterval0: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;INTERVAL=0'),
  rruleByday: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=MONTHLY;BYDAY=99MO'),
  rruleBymonth13: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;BYMONTH=13'),
  rruleBysetpos: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=MONTHLY;BYDAY=MO;BYSETPOS=0'),
  rruleByhourBad: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;BYHOUR=25'),
  rruleYearly: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;BYWEEKNO=54'),
  rruleTwo: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=2', 'RRULE:FREQ=WEEKLY;COUNT=2'),
  rruleNoMatch: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30'),
  vtzEmpty: wrap('BEGIN:VTIMEZONE', 'TZID:X', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtz1', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=X:20261201T100000', 'END:VEVENT'),
  vtzBadOffset: wrap('BEGIN:VTIMEZONE', 'TZID:Y', 'BEGIN:STANDARD', 'DTSTART:19700101T000000', 'TZOFFSETFROM:garbage', 'TZOFFSETTO:+9900', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtz2', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Y:20261201T100000', 'END:VEVENT'),
  vtzNoDtstart: wrap('BEGIN:VTIMEZONE', 'TZID:Z', 'BEGIN:STANDARD', 'TZOFFSETFROM:+0100', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtz3', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=Z:20261201T100000', 'END:VEVENT'),
  vtzRruleBad: wrap('BEGIN:VTIMEZONE', 'TZID:W', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'RRULE:FREQ=YEARLY;BYMONTH=14', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtz4', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=W:20261201T100000', 'END:VEVENT'),
  vtzRdate: wrap('BEGIN:VTIMEZONE', 'TZID:V', 'BEGIN:STANDARD', 'DTSTART:19701025T030000', 'RDATE:garbage', 'TZOFFSETFROM:+0200', 'TZOFFSETTO:+0100', 'END:STANDARD', 'END:VTIMEZONE', 'BEGIN:VEVENT', 'UID:vtz5', 'DTSTAMP:20260101T000000Z', 'DTSTART;TZID=V:20261201T100000', 'END:VEVENT'),
  year0: ev('DTSTART:00000101T000000Z'),
  year9999: ev('DTSTART:99991231T230000Z', 'DURATION:PT2H'),
  year9999r: ev('DTSTART:99991231T230000Z', 'RRULE:FREQ=DAILY'),
  year1: ev('DTSTART:00010101T000000Z', 'RRULE:FREQ=YEARLY;COUNT=5'),
  floatingR: ev('DTSTART:20261201T100000', 'RRULE:FREQ=DAILY;COUNT=3'),
  valueText: ev('DTSTART;VALUE=TEXT:hello'),
  valueDateOnDt: ev('DTSTART;VALUE=DATE:20261201T100000Z'),
  classWeird: ev('DTSTART:20261201T100000Z', 'CLASS:'),
  transpWeird: ev('DTSTART:20261201T100000Z', 'TRANSP:'),
  statusWeird: ev('DTSTART:20261201T100000Z', 'STATUS;X=1:'),
  nested: wrap('BEGIN:VEVENT', 'UID:n1', 'DTSTART:20261201T100000Z', 'BEGIN:VEVENT', 'UID:n1', 'END:VEVENT', 'END:VEVENT'),
  endMismatch: 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:m\r\nEND:VCALENDAR\r\n',
  uidWs: ev('DTSTART:20261201T100000Z').replace(/UID:[^\r]+/, 'UID:   '),
  multiUidProp: ev('DTSTART:20261201T100000Z', 'UID:second'),
  sameRid: ev('DTSTART:20261201T100000Z', 'RRULE:FREQ=DAILY;COUNT=3').replace('END:VCALENDAR', 'BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\nEND:VCALENDAR'),
  xprop: ev('DTSTART:20261201T100000Z', 'X-MICROSOFT-CDO-BUSYSTATUS:WEIRD'),
  alldayX: ev('DTSTART:20261201T000000', 'X-MICROSOFT-CDO-ALLDAYEVENT:TRUE'),
  geo: ev('DTSTART:20261201T100000Z', 'GEO:garbage'),
  attach: ev('DTSTART:20261201T100000Z', 'ATTACH;ENCODING=BASE64;VALUE=BINARY:@@@'),
  utcOffset: ev('DTSTART:20261201T100000+0100'),
  bom: '\uFEFF' + ev('DTSTART:20261201T100000Z'),
  lf: ev('DTSTART:20261201T100000Z').replace(/\r\n/g, '\n'),
  rdateMany: ev('DTSTART:20261201T100000Z', `RDATE:${Array.from({ length: 3000 }, (_, i) => `2027${String((i % 12) + 1).padStart(2, '0')}${String((i % 28) + 1).padStart(2, '0')}T${String(i % 24).padStart(2, '0')}0000Z`).join(',')}`),
  exdateTz: ev('DTSTART;TZID=Europe/Berlin:20261201T100000', 'RRULE:FREQ=DAILY;COUNT=3', 'EXDATE;TZID=Nowhere/Zone:20261202T100000'),
  rdateTz: ev('DTSTART;TZID=Europe/Berlin:20261201T100000', 'RDATE;TZID=Nowhere/Zone:20261202T100000'),
  ridTz: ev('RECURRENCE-ID;TZID=Nowhere/Zone:20261201T100000', 'DTSTART:20261201T110000Z'),
  durationWeeks: ev('DTSTART;VALUE=DATE:20261201', 'DURATION:P1W'),
  durationTimeOnDate: ev('DTSTART;VALUE=DATE:20261201', 'DURATION:PT1H'),
  vtodo: wrap('BEGIN:VTODO', 'UID:t', 'END:VTODO'),
  vfbOnly: wrap('BEGIN:VFREEBUSY', 'UID:t', 'END:VFREEBUSY'),
  valarmOnly: wrap('BEGIN:VALARM', 'END:VALARM'),
  unknownComp: wrap('BEGIN:X-THING', 'END:X-THING', 'BEGIN:VEVENT', 'UID:xt', 'DTSTART:20261201T100000Z', 'END:VEVENT'),
};


const FOUND_BY_FUZZING = ['hugeDuration', 'durDays', 'durSecs', 'dtendVeryLate', 'rdatePeriodHuge', 'year9999'];

async function put(name: string, ics: string) {
  const privateCopy = ics.replace(/UID:([^\r\n]*)/g, 'UID:$1-p').replace('END:VEVENT', 'CLASS:PRIVATE\r\nEND:VEVENT');
  return alice.request('CalendarEvent/set', { calendarId, create: { [name]: { ics }, [`${name}-p`]: { ics: privateCopy }, sibling: { ics: ev('DTSTART:20261201T100000Z') } } });
}

it('refuses the shapes that gave INTERNAL as INVALID_ICALENDAR, per object', async () => {
  for (const name of FOUND_BY_FUZZING) {
    const result = await put(name, cases[name]!);
    expect(result.notCreated[name]?.code, name).toBe('INVALID_ICALENDAR');
    expect(result.created.sibling, name).toBeDefined();
  }
});

it('answers every odd object by itself, and every reader path afterwards', async () => {
  for (const [name, ics] of Object.entries(cases)) {
    const result = await put(name, ics);
    expect(result.created.sibling, name).toBeDefined();
    expect(result.notCreated[name]?.code ?? 'created', name).not.toBe('INTERNAL');
  }
  for (const [from, to] of [['2026-01-01T00:00:00Z', '2027-12-31T00:00:00Z'], ['9998-06-01T00:00:00Z', '9999-12-31T00:00:00Z'], ['0001-01-01T00:00:00Z', '0002-12-31T00:00:00Z']] as const) {
    for (const timeZone of ['UTC', 'Pacific/Kiritimati', 'Etc/GMT+12']) await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from, to, timeZone, limit: 1000 });
  }
  await bob.request('CalendarEvent/changes', { calendarId, maxChanges: 5000 });
  await alice.request('CalendarEvent/changes', { calendarId, maxChanges: 5000, window: { pastDays: 3650, futureDays: 3650 } });
  expect(server.logLines().filter((l) => l.level === 'error')).toEqual([]);
}, 120_000);
