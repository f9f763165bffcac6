import type { Generated, Selectable } from 'kysely';

/** console_sessions: a logged-in console browser. The id itself is only in the cookie. */
export interface ConsoleSessionTable {
  id_hash: Buffer;
  account_id: string;
  address: string;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  /** A one-shot message for the next page (the outcome of a form), cleared when shown. */
  flash: string | null;
}
export type ConsoleSessionRow = Selectable<ConsoleSessionTable>;

/** cluster_nodes: each node's latest report (node-report.ts). */
export interface ClusterNodeTable {
  node_id: string;
  seen_at: Date;
  report: unknown;
}
