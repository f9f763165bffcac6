import type { ColumnType, Generated, GeneratedAlways, Selectable } from 'kysely';

/** Kysely types for calendar_events and event_instances. */

export interface CalendarEventTable {
  id: Generated<string>;
  calendar_id: string;
  uid: string;
  /** The normalised VCALENDAR; null on a tombstone. */
  ics: string | null;
  summary: string | null;
  first_start: Date | null;
  /** null = the series is unbounded. */
  last_end: Date | null;
  recurring: boolean;
  classification: string;
  version: Generated<number>;
  modseq: number;
  created_modseq: number;
  deleted: Generated<boolean>;
  deleted_at: Date | null;
  idempotency_key: string | null;
  /** event_instances holds the instances starting in [expanded_from, expanded_until); null = unbounded on that side. */
  expanded_from: Date | null;
  expanded_until: Date | null;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
export type CalendarEventRow = Selectable<CalendarEventTable>;

export interface EventInstanceTable {
  event_id: string;
  calendar_id: string;
  recurrence_id: string;
  /** tstzrange '[start,end)'; written as text, read back as text. */
  during: ColumnType<string, string, string>;
  /** lower(during), stored by PostgreSQL: what the start-ordered indexes hold. */
  during_start: GeneratedAlways<Date>;
  /** What free/busy reads of a busy instance, stored by PostgreSQL (migration 4300; null when FREE). */
  busy_packed: GeneratedAlways<Buffer | null>;
  start_local: string;
  end_local: string;
  tzid: string | null;
  all_day: boolean;
  floating: boolean;
  busy_type: string;
  transparent: boolean;
  status: string | null;
  classification: string;
  is_override: boolean;
  summary: string | null;
  location: string | null;
}
export type EventInstanceRow = Selectable<EventInstanceTable>;
