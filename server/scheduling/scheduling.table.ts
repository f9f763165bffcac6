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
