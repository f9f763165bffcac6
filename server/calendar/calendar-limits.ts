/**
 * Every limit of the calendar feature, with its default (docs/protocol.md
 * §Calendars lists them). Per-object iCalendar limits (size, overrides,
 * instances per expansion) live in the ical engine's defaultIcalLimits.
 */
export const CalendarLimits = {
  /** Calendars one account may own. */
  maxCalendarsPerAccount: 100,
  /** Objects in one CalendarEvent/set call (creates + updates + destroys). */
  maxObjectsInSet: 500,
  /** Longest [from, to) a CalendarEvent/query may ask for. */
  maxQueryRangeDays: 732,
  /** Instances one query may gather before paging; more → LIMIT_EXCEEDED (narrow the range). */
  maxQueryInstances: 20_000,
  /** The index reaches this far into the past at write time; older instances are expanded on the fly. */
  indexPastDays: 366,
  /** Instance rows the write path stores per event; the rest is expanded on the fly. */
  maxIndexedInstancesPerEvent: 5_000,
  /** Expansion works in windows of this many days, yielding to the event loop between them. */
  expansionChunkDays: 366,
  /** Floating and all-day rows are stored as UTC wall clock; any zone is within ±14 h of it. */
  floatingSlackMs: 14 * 3_600_000,
  /** A push carries at most this many changes, else a resync mark. */
  maxPushChanges: 200,
  /** ... and at most this many bytes of iCalendar text. */
  maxPushBytes: 256 * 1024,
  /** Events a window move may bring in or take out in one CalendarEvent/changes call. */
  maxWindowMoveChanges: 5_000,
  /** How often the horizon job runs, and how many events it extends per run. */
  horizonJobIntervalMs: 60 * 60_000,
  horizonJobBatch: 200,
  /** The horizon job extends an event once its index reaches less than this far ahead of the full horizon. */
  horizonSlackDays: 30,
  /**
   * Expansion work one request may spend over all its objects, in steps
   * (ical/work-budget.ts); each object also has its own budget
   * (IcalLimits.maxExpansionSteps). Past it: LIMIT_EXCEEDED per object,
   * details { budget: 'request', limit }.
   */
  maxExpansionStepsPerRequest: 2_500_000,
  /** How often tombstones are pruned. */
  pruneJobIntervalMs: 60 * 60_000,
} as const;

export const DAY_MS = 86_400_000;
