import type { Generated, Insertable, Selectable } from 'kysely';

/** Kysely types for the calendar tables (migrations/2026-11-21_0100_calendars.ts). */

export type AccessRight = 'freebusy' | 'details' | 'read' | 'write' | 'manage';
export type GranteeKind = 'account' | 'group';

export interface CalendarTable {
  id: Generated<string>;
  account_id: string;
  name: string;
  color: string | null;
  description: string | null;
  is_default: Generated<boolean>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}
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
