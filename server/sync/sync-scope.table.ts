import type { Generated } from 'kysely';

export interface SyncScopeTable {
  id: string;
  modseq: Generated<number>;
  min_modseq: Generated<number>;
}
