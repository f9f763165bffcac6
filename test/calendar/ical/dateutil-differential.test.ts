import { describe, expect, it } from 'vitest';
import { expandInstances, parseCalendarObject } from '../../../server/calendar/ical/index.ts';
import cases from './dateutil-cases.json' with { type: 'json' };
import { ics } from './helpers.ts';

/**
 * Regression fixture: random RRULEs (all frequencies and BYxxx parts) with
 * floating DTSTARTs, expanded by python-dateutil 2.9 when the fixture was made.
 * Left out where dateutil departs from RFC 5545: it ANDs plain and numbered
 * BYDAY values, applies BYSETPOS to a partial first week, and miscounts weeks
 * of some years for BYWEEKNO=53. Compared: the first instances after DTSTART
 * (dateutil omits a DTSTART that does not match the rule; RFC 5545 keeps it).
 */
const basic = (d: Date): string => d.toISOString().replace(/[-:]/g, '').slice(0, 15);
const instant = (s: string): Date => new Date(`${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6, 8)}T${s.slice(9, 11)}:${s.slice(11, 13)}:${s.slice(13, 15)}Z`);

describe('agreement with python-dateutil on random rules', () => {
  it(`expands ${cases.length} random rules as dateutil did`, () => {
    for (const c of cases) {
      const obj = parseCalendarObject(ics([`DTSTART:${c.start}`, `RRULE:${c.rule}`]));
      const to = new Date(instant(c.expected.at(-1)!).getTime() + 1000);
      const got = expandInstances(obj, instant(c.start), to, { maxBytes: 1 << 20, maxOverrides: 0, maxInstancesPerExpansion: 100_000, maxExpansionSteps: Infinity })
        .map((i) => basic(i.start))
        .filter((s) => s !== c.start);
      expect(got, `${c.rule} from ${c.start}`).toEqual(c.expected);
    }
  });
});
