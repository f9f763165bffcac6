import type { Generated, Insertable, Selectable } from 'kysely';

/** audit_log: who did what, when, from where; before and after in `detail` (never a secret: audit-detail.ts). */
export interface AuditLogTable {
  id: Generated<number>;
  at: Generated<Date>;
  /** The acting account's email, `system`, `cli:<os user>`, or for a login the login name tried. */
  actor: string;
  actor_id: string | null;
  action: string;
  target: string | null;
  domain_id: string | null;
  address: string | null;
  detail: Generated<unknown>;
}
export type AuditRow = Selectable<AuditLogTable>;
export type NewAuditRow = Insertable<AuditLogTable>;
