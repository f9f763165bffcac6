import type { Generated, Selectable } from 'kysely';
import type { FreeBusyVisibility } from '../calendar/calendar.table.ts';

export interface DomainTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
  /** Calendars may be shared with accounts of other domains that allow it too (migration 1301). */
  cross_domain_sharing: Generated<boolean>;
  /** Free/busy defaults (migration 2000, server/freebusy/): visibility for members, other domains, anonymous; working hours. */
  freebusy_internal: Generated<FreeBusyVisibility>;
  freebusy_external: Generated<FreeBusyVisibility>;
  freebusy_anonymous: Generated<FreeBusyVisibility>;
  work_days: Generated<number[]>;
  work_start: Generated<number>;
  work_end: Generated<number>;
  work_time_zone: Generated<string>;
  /** iMIP REQUEST/CANCEL from outside organizers write members' copies (migration 3100, server/imip/calendar-attendant.ts). */
  calendar_attendant: Generated<boolean>;
}
export type DomainRow = Selectable<DomainTable>;
