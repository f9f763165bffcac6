import { describe, expect, it } from 'vitest';
import { denseVtimezoneEvent } from '../../../bench/support/hostile-inputs.ts';
import { prepareWrites } from '../../../server/calendar/ical-work/tasks.ts';
import { defaultIcalLimits, expandInstances, IcalError, parseCalendarObject } from '../../../server/calendar/ical/index.ts';
import { sample, simpleEvent } from '../helpers.ts';

/**
 * Issue 7 item 3: recurrence expansion (event RRULEs and VTIMEZONE rules) is
 * bounded by a work budget per object and per request, refused with
 * LIMIT_EXCEEDED and details naming the budget.
 */
function refusal(fn: () => unknown): IcalError {
  try {
    fn();
  } catch (error) {
    if (error instanceof IcalError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('expansion work budget', () => {
  it('refuses an object whose VTIMEZONE changes offset every minute, naming the object budget', () => {
    const error = refusal(() => parseCalendarObject(denseVtimezoneEvent('dense@h')));
    expect(error.code).toBe('LIMIT_EXCEEDED');
    expect(error.details).toEqual({ budget: 'object', limit: defaultIcalLimits.maxExpansionSteps });
  });

  it('counts every expansion of one object against one budget, the VTIMEZONE lookups included', () => {
    // Hourly onsets pass a parse; a window that needs many years of them does not.
    const obj = parseCalendarObject(denseVtimezoneEvent('hourly@h', 'HOURLY'));
    const error = refusal(() => expandInstances(obj, new Date('2026-01-01T00:00:00Z'), new Date('2080-01-01T00:00:00Z'), { ...defaultIcalLimits, maxInstancesPerExpansion: 100_000 }));
    expect(error.details).toEqual({ budget: 'object', limit: defaultIcalLimits.maxExpansionSteps });
  });

  it('refuses every object past the request budget on its own, and leaves the earlier ones parsed', () => {
    const hourly = denseVtimezoneEvent('hourly@h', 'HOURLY');
    const one = prepareWrites({ texts: [hourly], limits: defaultIcalLimits, maxStepsPerRequest: Infinity, now: Date.parse('2026-01-01T00:00:00Z'), horizonDays: 30 });
    expect(one.results[0]!.ok).toBe(true);
    const perObject = one.steps;
    const texts = [simpleEvent({ uid: 'cheap@h' }), hourly, hourly.replace('hourly@h', 'h2@h'), hourly.replace('hourly@h', 'h3@h'), simpleEvent({ uid: 'late@h' })];
    const out = prepareWrites({ texts, limits: defaultIcalLimits, maxStepsPerRequest: Math.floor(perObject * 2.5), now: Date.parse('2026-01-01T00:00:00Z'), horizonDays: 30 });
    expect(out.results.map((r) => r.ok)).toEqual([true, true, true, false, false]);
    for (const r of out.results.slice(3)) {
      expect(r.ok ? null : r.error).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { budget: 'request', limit: Math.floor(perObject * 2.5) } });
    }
  });

  it('leaves real-world objects far inside the budget', () => {
    // An Outlook object (VTIMEZONE rules from 1601) and a long daily series: under a tenth of the budget each.
    for (const text of [sample('outlook-weekly-exception.ics'), simpleEvent({ uid: 'daily@h', start: '2016-01-01T08:00:00Z', rrule: 'FREQ=DAILY' })]) {
      const out = prepareWrites({ texts: [text], limits: defaultIcalLimits, maxStepsPerRequest: Infinity, now: Date.parse('2026-06-01T00:00:00Z'), horizonDays: 730 });
      expect(out.results[0]!.ok).toBe(true);
      expect(out.steps).toBeLessThan(defaultIcalLimits.maxExpansionSteps / 10);
    }
  });
});
