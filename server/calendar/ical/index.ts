/**
 * The iCalendar engine: parse and validate one calendar object (one UID) and
 * expand its recurrence set over a time window. Pure: no database, no I/O.
 * See docs/decisions.md ("Own RRULE expander") for why recurrence is ours.
 */
import { expandModel } from './expand.ts';
import { modelOf, attachModel } from './model.ts';
import { parseInternal } from './parse.ts';
import { defaultIcalLimits, type IcalLimits, type Instance, type ParsedCalendarObject } from './types.ts';
import { withObjectBudget } from './work-budget.ts';

export { IcalError } from './errors.ts';
export { iterationStats } from './rrule-iterate.ts';
export { WINDOWS_ZONES, windowsZoneToIana } from './windows-zones.ts';
export { defaultIcalLimits } from './types.ts';
export { recurrenceKeyer, type RecurrenceKeyer } from './recurrence-keys.ts';
export { isBudgetError, withBudgets, WorkBudget, type BudgetErrorDetails } from './work-budget.ts';
export type { Attendee, BusyType, Classification, EventStatus, IcalLimits, Instance, ParsedCalendarObject, ParsedEvent } from './types.ts';

/**
 * Parses and validates; throws IcalError (a DmciError) with INVALID_ICALENDAR or LIMIT_EXCEEDED.
 * Runs within one object work budget (work-budget.ts), and within any request budget the caller made active.
 */
export function parseCalendarObject(text: string, limits: IcalLimits = defaultIcalLimits): ParsedCalendarObject {
  const { obj, model } = withObjectBudget(limits.maxExpansionSteps, () => parseInternal(text, limits));
  attachModel(obj, model);
  return obj;
}

/**
 * Instances overlapping [from, to) in UTC, sorted by start, applying
 * RRULE/RDATE/EXDATE/overrides (incl. RANGE=THISANDFUTURE). Throws
 * IcalError(LIMIT_EXCEEDED) past maxInstancesPerExpansion. Accepts an object
 * that was copied or rebuilt from stored columns: it then re-parses `text`.
 */
export function expandInstances(obj: ParsedCalendarObject, from: Date, to: Date, limits: IcalLimits = defaultIcalLimits): Instance[] {
  return withObjectBudget(limits.maxExpansionSteps, () => {
    const model = modelOf(obj) ?? parseInternal(obj.text, { ...limits, maxBytes: Infinity }).model;
    return expandModel(model, from, to, limits);
  });
}
