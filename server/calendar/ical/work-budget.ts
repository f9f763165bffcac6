import { tooBig } from './errors.ts';

/**
 * Expansion work budgets (DESIGN §7 "work"; docs/security.md "Expansion work").
 *
 * Every loop that walks recurrence — event RRULEs, VTIMEZONE observance
 * rules, the years a zone looks back through, the instances an expansion
 * visits — charges "steps" to the budgets active at that moment: one for the
 * object (IcalLimits.maxExpansionSteps, per parse or expansion of one object)
 * and, when the caller gives one, one for the whole request
 * (CalendarLimits.maxExpansionStepsPerRequest). Past either, the work stops
 * with LIMIT_EXCEEDED and details `{ budget: 'object' | 'request', limit }`.
 *
 * The budgets are ambient (a stack, not a parameter) because the costly loops
 * sit behind the Zone interface of a time zone that is cached and shared
 * between objects; everything that charges runs synchronously inside
 * `withBudgets`, so no other work can interleave and see a stranger's budget.
 */

export type BudgetScope = 'object' | 'request';

export class WorkBudget {
  spent = 0;

  constructor(
    readonly limit: number,
    readonly scope: BudgetScope,
  ) {}

  get remaining(): number {
    return Math.max(0, this.limit - this.spent);
  }

  get exhausted(): boolean {
    return this.spent >= this.limit;
  }
}

const active: WorkBudget[] = [];

/** Details of the LIMIT_EXCEEDED error a budget raises. */
export interface BudgetErrorDetails {
  budget: BudgetScope;
  limit: number;
}

export function budgetError(budget: WorkBudget): Error {
  const what = budget.scope === 'object' ? 'one iCalendar object' : 'one request';
  const details: BudgetErrorDetails = { budget: budget.scope, limit: budget.limit };
  return tooBig(`recurrence expansion of ${what} needs more than ${budget.limit} steps (RRULE or VTIMEZONE rules too dense)`, details);
}

/** True for the error a budget raises (as opposed to other LIMIT_EXCEEDED causes). */
export function isBudgetError(error: unknown): boolean {
  const details = (error as { details?: Partial<BudgetErrorDetails> } | null)?.details;
  return details?.budget === 'object' || details?.budget === 'request';
}

/** Charges `steps` to every active budget; throws LIMIT_EXCEEDED once one is spent. */
export function chargeWork(steps: number): void {
  for (let i = 0; i < active.length; i++) {
    const budget = active[i]!;
    budget.spent += steps;
    if (budget.spent > budget.limit) throw budgetError(budget);
  }
}

/** Runs `fn` (synchronous) with `budgets` active on top of those already active. */
export function withBudgets<T>(budgets: WorkBudget[], fn: () => T): T {
  const depth = active.length;
  for (const budget of budgets) {
    if (budget.spent >= budget.limit) throw budgetError(budget);
    active.push(budget);
  }
  try {
    return fn();
  } finally {
    active.length = depth;
  }
}

/**
 * Runs `fn` within one object budget of `limit` steps, unless an object
 * budget is already active (a parse that expands, an index plan of many
 * windows): the object's work is then counted as one.
 */
export function withObjectBudget<T>(limit: number, fn: () => T): T {
  if (active.some((b) => b.scope === 'object')) return fn();
  return withBudgets([new WorkBudget(limit, 'object')], fn);
}
