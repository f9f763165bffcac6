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
} as const;
