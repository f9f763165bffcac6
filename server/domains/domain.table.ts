import type { Generated, Selectable } from 'kysely';

export interface DomainTable {
  id: Generated<string>;
  name: string;
  created_at: Generated<Date>;
}
export type DomainRow = Selectable<DomainTable>;
