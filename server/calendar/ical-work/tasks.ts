import type { ErrorBody } from '../../../protocol/envelope.ts';
import { DmciError } from '../../errors.ts';
import { parseCalendarObject, withBudgets, WorkBudget, type IcalLimits, type ParsedCalendarObject } from '../ical/index.ts';
import { planWriteIndex, type PlannedIndex } from '../index-plan.ts';

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

/** The tasks a worker runs, by name. */
export const tasks = { prepareWrites } as const;
export type TaskName = keyof typeof tasks;
export type TaskInput<T extends TaskName> = Parameters<(typeof tasks)[T]>[0];
export type TaskOutput<T extends TaskName> = ReturnType<(typeof tasks)[T]>;
