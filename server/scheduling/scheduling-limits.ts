/**
 * Scheduling limits (docs/protocol.md §Scheduling, docs/security.md). An
 * organizer's write over the attendee cap is refused per object with
 * LIMIT_EXCEEDED (details.limit) and nothing of it is written.
 */
export const SchedulingLimits = {
  /** ATTENDEEs (besides the organizer) of one scheduling object. */
  maxAttendees: 1000,
  /** Times one CalendarEvent/set is re-run when a copy appeared under it between planning and locking. */
  maxReplans: 3,
  /** How far after a conflicting occurrence a room's decline looks for the next free slot of the same length (`freeNext`). */
  freeNextSearchDays: 14,
  /** Skipped occurrences (two endless series meeting late) a node claims at once to answer as the resource (series-skip-answers.ts). */
  skipAnswerBatch: 50,
  /** How long a claimed skip is this node's: one left by a node that died is answered by another after this. */
  skipAnswerLeaseMs: 120_000,
  /** A failed answer to a skip is tried again after this × 2^(attempt−1)… */
  skipRetryBaseMs: 60_000,
  /** …at most this long after the failure. */
  skipRetryMaxMs: 3_600_000,
} as const;
