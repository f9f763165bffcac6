import type { ErrorBody } from '../../../protocol/envelope.ts';
import { DmciError } from '../../errors.ts';
import { parseCalendarObject, withBudgets, WorkBudget, type IcalLimits, type Instance, type ParsedCalendarObject } from '../ical/index.ts';
import { planIndex, planWriteIndex, type IndexBounds, type IndexPlan, type PlannedIndex } from '../index-plan.ts';
import { unindexedInstances } from '../instance-index.ts';

/**
 * The CPU-heavy calendar work, as pure functions of plain data: what the
 * worker threads of pool.ts run (worker.ts), so parsing and expanding a
 * hostile object cannot stall the event loop that serves every session.
 * Inputs and outputs cross threads by structured clone: plain objects,
 * arrays and Dates only.
 */

export interface PrepareWritesInput {
  /** The iCalendar texts of one CalendarEvent/set, in order. */
  texts: string[];
  limits: IcalLimits;
  /** The request's work budget, shared by all its objects (CalendarLimits.maxExpansionStepsPerRequest). */
  maxStepsPerRequest: number;
  /** Epoch ms the index is planned from (the write's clock). */
  now: number;
  horizonDays: number;
}

export type PreparedWrite = { ok: true; obj: ParsedCalendarObject; index: PlannedIndex } | { ok: false; error: ErrorBody };

export interface PrepareWritesOutput {
  /** One per text, in order: parsed and planned, or refused on its own. */
  results: PreparedWrite[];
  /** Steps of the request budget spent. */
  steps: number;
}

/**
 * Parses each object and plans its occurrence index, each within its own
 * object budget and all within one request budget: once the request budget
 * is spent, every later object is refused (LIMIT_EXCEEDED, details.budget =
 * 'request') without being looked at.
 */
export function prepareWrites(input: PrepareWritesInput): PrepareWritesOutput {
  const request = new WorkBudget(input.maxStepsPerRequest, 'request');
  const now = new Date(input.now);
  const results = input.texts.map((text): PreparedWrite => {
    try {
      return withBudgets([request, new WorkBudget(input.limits.maxExpansionSteps, 'object')], () => {
        const obj = parseCalendarObject(text, input.limits);
        return { ok: true, obj, index: planWriteIndex(obj, now, input.horizonDays, input.limits) };
      });
    } catch (error) {
      if (error instanceof DmciError) return { ok: false, error: error.toBody() };
      throw error;
    }
  });
  return { results, steps: request.spent };
}

/** A stored event whose occurrence index does not cover a reader's range. */
export interface UnindexedEvent {
  ics: string;
  bounds: IndexBounds;
}

export interface ExpandUnindexedInput {
  events: UnindexedEvent[];
  /** The reader's range: instances overlapping [from, to) that the index does not hold. */
  from: Date;
  to: Date;
  limits: IcalLimits;
  /** The read's work budget, shared by all its events (CalendarLimits.maxExpansionStepsPerRequest). */
  maxStepsPerRequest: number;
}

export type ExpandedEvent = { ok: true; instances: Instance[] } | { ok: false; error: ErrorBody };

/**
 * What readers (CalendarEvent/query, window sync) expand on the fly: each
 * event's instances in the range outside its index, each within its object
 * budget and all within the read's budget. A refusal (LIMIT_EXCEEDED: too
 * many instances or steps) stays with its event; the reader decides.
 */
export function expandUnindexed(input: ExpandUnindexedInput): ExpandedEvent[] {
  const request = new WorkBudget(input.maxStepsPerRequest, 'request');
  return input.events.map((event): ExpandedEvent => {
    try {
      return withBudgets([request, new WorkBudget(input.limits.maxExpansionSteps, 'object')], () => {
        const obj = parseCalendarObject(event.ics, input.limits);
        return { ok: true, instances: unindexedInstances(obj, event.bounds, input.from, input.to, input.limits) };
      });
    } catch (error) {
      if (error instanceof DmciError) return { ok: false, error: error.toBody() };
      throw error;
    }
  });
}

export interface ExtendIndexInput {
  ics: string;
  /** Where the stored index ends (expanded_until). */
  from: Date;
  horizon: Date;
  limits: IcalLimits;
  maxRows: number;
}

/** The horizon job's plan for one series: its index rows from `from` to the horizon (or to its end, if sooner). */
export function extendIndex(input: ExtendIndexInput): IndexPlan {
  const obj = parseCalendarObject(input.ics, input.limits);
  const target = obj.lastEnd && obj.lastEnd <= input.horizon ? null : input.horizon;
  // Each window of the plan is charged on its own (as the index planned at write time is): a series indexed once can be extended.
  return planIndex(obj, input.from, target, input.limits, input.maxRows);
}

/** The tasks a worker runs, by name. */
export const tasks = { prepareWrites, expandUnindexed, extendIndex } as const;
export type TaskName = keyof typeof tasks;
export type TaskInput<T extends TaskName> = Parameters<(typeof tasks)[T]>[0];
export type TaskOutput<T extends TaskName> = ReturnType<(typeof tasks)[T]>;
