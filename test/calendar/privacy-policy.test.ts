import { describe, expect, it } from 'vitest';
import { eventLens, freeBusyLens, lensKey, lensOfKey, levelOf, mostRestrictive, redactIcs, type Right } from '../../server/calendar/privacy/index.ts';
import { sample } from './helpers.ts';

/** The privacy policy's decisions and its iCalendar redaction, without a server (the matrix test covers every path). */

const id = '0b6f3c1e-7d2a-4c1b-9e8f-1a2b3c4d5e6f';

/** A weekly series whose master and one override have the given classes, with every kind of secret a component can carry. */
function series(masterClass: string, overrideClass: string): string {
  const secrets = (tag: string) => [
    `SUMMARY;LANGUAGE=en;X-SECRET-PARAM=${tag}-param:${tag} subject`,
    `LOCATION;ALTREP="https://maps.example/${tag}-altrep":${tag} room`,
    `DESCRIPTION:${tag} description`,
    `ATTENDEE;CN=${tag} attendee;PARTSTAT=ACCEPTED:mailto:${tag}-attendee@example.com`,
    `ORGANIZER;CN=${tag} organizer:mailto:${tag}-organizer@example.com`,
    `X-SECRET-NOTE:${tag} note`,
    'BEGIN:VALARM',
    'ACTION:DISPLAY',
    `DESCRIPTION:${tag} alarm`,
    'TRIGGER:-PT15M',
    'END:VALARM',
  ];
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//t//EN',
    'BEGIN:VTIMEZONE',
    'TZID:Europe/Berlin',
    'X-LIC-LOCATION:zone-secret',
    'BEGIN:STANDARD',
    'DTSTART:19701025T030000',
    'TZOFFSETFROM:+0200',
    'TZOFFSETTO:+0100',
    'TZNAME:CET',
    'RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU',
    'END:STANDARD',
    'END:VTIMEZONE',
    'BEGIN:VEVENT',
    'UID:real-uid-secret@example.com',
    'DTSTAMP:20261001T000000Z',
    'DTSTART;TZID=Europe/Berlin:20261207T090000',
    'DTEND;TZID=Europe/Berlin:20261207T100000',
    'RRULE:FREQ=WEEKLY;COUNT=4',
    `CLASS:${masterClass}`,
    ...secrets('master'),
    'END:VEVENT',
    'BEGIN:VEVENT',
    'UID:real-uid-secret@example.com',
    'DTSTAMP:20261001T000000Z',
    'RECURRENCE-ID;TZID=Europe/Berlin:20261214T090000',
    'DTSTART;TZID=Europe/Berlin:20261214T110000',
    'DTEND;TZID=Europe/Berlin:20261214T120000',
    `CLASS:${overrideClass}`,
    ...secrets('override'),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}

const viewer = (right: Right, mayReadPrivate = false) => ({ right, mayReadPrivate });

describe('the lens of each right', () => {
  it.each([
    [viewer('freebusy'), 'none/none'],
    [viewer('details'), 'details/time'],
    [viewer('read'), 'full/time'],
    [viewer('write'), 'full/time'],
    [viewer('manage'), 'full/time'],
    [viewer('write', true), 'full/full'],
    [viewer('owner', true), 'full/full'],
  ])('%j sees events through %s', (v, key) => {
    expect(lensKey(eventLens(v))).toBe(key);
    expect(lensOfKey(key)).toEqual(eventLens(v));
  });

  it('caps free/busy at details and gives free/busy-only viewers the time', () => {
    expect(freeBusyLens(viewer('freebusy'))).toEqual({ public: 'time', private: 'time' });
    expect(freeBusyLens(viewer('read'))).toEqual({ public: 'details', private: 'time' });
    expect(freeBusyLens(viewer('owner', true))).toEqual({ public: 'details', private: 'details' });
  });

  it('treats unknown classes as private, and an object as private as its most private component', () => {
    const lens = eventLens(viewer('read'));
    expect(levelOf(lens, 'PUBLIC')).toBe('full');
    for (const c of ['PRIVATE', 'CONFIDENTIAL', 'X-SECRET']) expect(levelOf(lens, c)).toBe('time');
    expect(mostRestrictive(['PUBLIC', 'CONFIDENTIAL', 'PRIVATE'])).toBe('CONFIDENTIAL');
    expect(mostRestrictive(['PUBLIC', 'X-SECRET'])).toBe('PRIVATE');
  });

  it('refuses a malformed view key', () => {
    expect(() => lensOfKey('full/everything')).toThrow();
  });
});

describe('redaction', () => {
  it('keeps only what the level names: no stray parameters, properties, alarms or the real UID', () => {
    const shown = redactIcs(series('PRIVATE', 'PRIVATE'), id, eventLens(viewer('read')))!;
    expect(shown.view).toBe('time');
    expect(shown.uid).toBe(`redacted-${id}@dmci.invalid`);
    expect(shown.ics).toContain('DTSTART;TZID=Europe/Berlin:20261207T090000');
    expect(shown.ics).toContain('RECURRENCE-ID;TZID=Europe/Berlin:20261214T090000');
    expect(shown.ics).toContain('RRULE:FREQ=WEEKLY;COUNT=4');
    expect(shown.ics).toContain('TZOFFSETTO:+0100');
    expect(shown.ics).not.toMatch(/secret|master|override|SUMMARY|LOCATION|DESCRIPTION|ATTENDEE|ORGANIZER|VALARM|LANGUAGE|ALTREP/i);
  });

  it('at details keeps subject and location without their parameters', () => {
    const shown = redactIcs(series('PUBLIC', 'PUBLIC'), id, eventLens(viewer('details')))!;
    expect(shown.view).toBe('details');
    expect(shown.ics).toContain('SUMMARY:master subject');
    expect(shown.ics).toContain('LOCATION:override room');
    expect(shown.ics).not.toMatch(/secret|altrep|LANGUAGE|description|attendee|organizer|VALARM|note/i);
  });

  it('renders each component at its own level: a private override of a public series stays private', () => {
    const shown = redactIcs(series('PUBLIC', 'PRIVATE'), id, eventLens(viewer('read')))!;
    expect(shown.view).toBe('time');
    expect(shown.ics).toContain('master description');
    expect(shown.ics).toContain('master alarm');
    expect(shown.ics).not.toMatch(/override (subject|room|description|attendee|organizer|note|alarm)|real-uid-secret/);
  });

  it('and the reverse: a public override of a private series is shown, the series is not', () => {
    const shown = redactIcs(series('CONFIDENTIAL', 'PUBLIC'), id, eventLens(viewer('read')))!;
    expect(shown.view).toBe('time');
    expect(shown.ics).toContain('override subject');
    expect(shown.ics).not.toMatch(/master (subject|room|description|attendee|organizer|note|alarm)|real-uid-secret/);
  });

  it('gives the stored text as is when every component is full', () => {
    const text = series('PRIVATE', 'PUBLIC');
    expect(redactIcs(text, id, eventLens(viewer('write', true)))).toEqual({ ics: text, view: 'full', uid: null });
    expect(redactIcs(text, id, eventLens(viewer('freebusy')))).toBeNull();
  });

  it('redacts an Outlook series to times, recurrence and busy status', () => {
    const text = redactIcs(sample('outlook-weekly-exception.ics').replaceAll('CLASS:PUBLIC', 'CLASS:PRIVATE'), id, eventLens(viewer('read')))!.ics;
    expect(text).toContain('RRULE:FREQ=WEEKLY;COUNT=8;BYDAY=MO');
    expect(text).toMatch(/EXDATE;TZID="?Eastern Standard Time"?:20261109T093000/);
    expect(text).toContain('BEGIN:VTIMEZONE');
    expect(text).toContain('X-MICROSOFT-CDO-BUSYSTATUS:TENTATIVE');
    expect(text).toContain(`UID:redacted-${id}@dmci.invalid`);
    expect(text).not.toMatch(/SUMMARY|LOCATION|DESCRIPTION|VALARM|040000008200E00074C5B7101A82E008/);
  });
});
