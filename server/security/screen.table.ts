import type { Generated, Selectable } from 'kysely';

/** screen_blocks: a block every node honours, by address or CIDR block. */
export interface ScreenBlockTable {
  key: string;
  reason: string;
  /** guard: started by a node's login guard; admin: by `dmci screen block` or the console. */
  source: 'guard' | 'admin';
  /** How many times this key was blocked (a guard block doubles with each). */
  block_count: Generated<number>;
  blocked_at: Date;
  blocked_until: Date;
  created_by: string;
  /** Set by an unblock; the row stays a while so every node learns the block was lifted. */
  lifted_at: Date | null;
  lifted_by: string | null;
}
export type ScreenBlockRow = Selectable<ScreenBlockTable>;

export const SCREEN_LISTS = ['trusted', 'ip_allow', 'ip_deny', 'host_allow', 'host_deny'] as const;
export type ScreenList = (typeof SCREEN_LISTS)[number];

/** screen_rules: entries of the trusted-host and IP/host allow/deny lists added at run time. */
export interface ScreenRuleTable {
  list: ScreenList;
  value: string;
  note: Generated<string>;
  created_at: Generated<Date>;
  created_by: string;
}
export type ScreenRuleRow = Selectable<ScreenRuleTable>;
