import type { Generated, Insertable, Selectable } from 'kysely';

/** Kysely types for the calendar tables (migrations/2026-11-21_0100_calendars.ts). */

export type AccessRight = 'freebusy' | 'details' | 'read' | 'write' | 'manage';
export type GranteeKind = 'account' | 'group';

export interface CalendarTable {
  id: Generated<string>;
  /** The owning account; null for a resource's calendar, which the server owns (resource_id set instead; migration 2100). */
  account_id: string | null;
  /** The GAL resource (room, equipment) whose calendar this is; null for an account's calendar. */
  resource_id: Generated<string | null>;
  name: string;
  color: string | null;
  description: string | null;
  is_default: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  /** Counts toward its owner's free/busy; null = only if it is the default calendar (migration 2000). */
  freebusy_counts: boolean | null;
  /** The owner's override of the domain's default free/busy visibility; null = the domain's. */
  freebusy_visibility: FreeBusyVisibility | null;
}
/** How much of free/busy a viewer without a grant gets (server/freebusy/visibility.ts). */
export type FreeBusyVisibility = 'none' | 'time' | 'details';
export type CalendarRow = Selectable<CalendarTable>;
export type NewCalendarRow = Insertable<CalendarTable>;

export interface CalendarGrantTable {
  calendar_id: string;
  grantee_kind: GranteeKind;
  grantee_id: string;
  access_right: AccessRight;
  is_delegate: Generated<boolean>;
  private_access: Generated<boolean>;
  created_at: Generated<Date>;
}
export type CalendarGrantRow = Selectable<CalendarGrantTable>;

export interface CalendarListEntryTable {
  account_id: string;
  calendar_id: string;
  modseq: number;
  created_modseq: number;
  deleted: Generated<boolean>;
  deleted_at: Date | null;
}
