import type { Generated, Selectable } from 'kysely';

export interface DomainTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
  /** Calendars may be shared with accounts of other domains that allow it too (migration 1301). */
  cross_domain_sharing: Generated<boolean>;
}
export type DomainRow = Selectable<DomainTable>;
