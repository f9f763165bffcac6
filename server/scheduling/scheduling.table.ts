import type { ColumnType, Generated, Selectable } from 'kysely';

/** Kysely types for resource policies, bookings and the copy links (migrations 2100, 2101). */

export type BookingMode = 'auto' | 'approval' | 'decline';

export interface ResourcePolicyTable {
  resource_id: string;
  domain_id: string;
  mode: Generated<BookingMode>;
  decline_conflicts: Generated<boolean>;
  /** Directory entry ids (people, groups); empty = everyone of the resource's domain. */
  allowed_bookers: ColumnType<string[], string[] | undefined, string[]>;
  max_duration_minutes: Generated<number>;
  booking_window_days: Generated<number>;
  allow_recurring: Generated<boolean>;
  conflict_details: Generated<boolean>;
  /** Directory entry ids of the people who decide held requests (approval mode). */
  approvers: ColumnType<string[], string[] | undefined, string[]>;
  /** A series conflicting in some occurrences: true = accept it and decline those occurrences; false = decline it whole. */
  decline_occurrences: Generated<boolean>;
  /** A series without an end: true = booked (every occurrence, rows made as far as requests reach); false = declined (window). */
  unbounded_series: Generated<boolean>;
  updated_at: Generated<Date>;
}
export type ResourcePolicyRow = Selectable<ResourcePolicyTable>;

export interface ResourceBookingTable {
  resource_id: string;
  event_id: string;
  recurrence_id: string;
  /** tstzrange '[start,end)'. */
  during: ColumnType<string, string, string>;
}

/** A booked series whose resource_bookings rows stop at booked_until (migration 3200, room-booking-reach.ts). */
export interface ResourceSeriesBookingTable {
  event_id: string;
  resource_id: string;
  booked_until: Date;
  booked_at: Generated<Date>;
}

/**
 * An instance of a booked series not booked when its rows were extended (an earlier booking holds that time;
 * migration 4000): answered later as the resource, DECLINED for that occurrence (series-skip-answers.ts).
 */
export interface ResourceSeriesSkipTable {
  id: Generated<string>;
  /** The resource's copy of the series. */
  event_id: string;
  resource_id: string;
  recurrence_id: string;
  /** tstzrange '[start,end)'. */
  during: ColumnType<string, string, string>;
  /** Wall-clock times on the series' own clock: the override is made from them (the occurrence is usually past the index). */
  start_local: string;
  end_local: string;
  all_day: boolean;
  created_at: Generated<Date>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  leased_by: string | null;
  last_error: string | null;
}
export type ResourceSeriesSkipRow = Selectable<ResourceSeriesSkipTable>;

export interface ScheduledCopyTable {
  event_id: string;
  organizer_event_id: string;
  organizer_calendar_id: string;
  attendee: string;
}

/** A per-organizer token bucket of attendee copies (migration 2700, invitation-budget.ts). */
export interface InvitationBudgetTable {
  account_id: string;
  tokens: number;
  refreshed_at: Date;
}
