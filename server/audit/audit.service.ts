import { requireAdmin, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import type { MaintenanceJob } from '../maintenance.ts';
import { auditDetail } from './audit-detail.ts';
import { insertAuditRow, listAuditRows, pruneAuditRows, type AuditFilter } from './audit.repository.ts';

/**
 * The audit log (issue 12). Each action is recorded where every door's
 * request for it passes: the service method that does it (AccountService,
 * DomainService, DirectoryService, StorageService, CalendarService grants,
 * ScreenService) and AccountService's guarded password check for logins.
 * Admin changes are recorded inside the transaction that makes them, so no
 * change commits without its record.
 */
export type AuditAction =
  | 'login.ok'
  | 'login.failed'
  | 'screen.block'
  | 'screen.unblock'
  | 'screen.rule.add'
  | 'screen.rule.remove'
  | 'account.create'
  | 'account.update'
  | 'account.disable'
  | 'account.enable'
  | 'account.password.set'
  | 'account.password.change'
  | 'account.quota'
  | 'domain.create'
  | 'domain.update'
  | 'directory.create'
  | 'directory.update'
  | 'directory.members'
  | 'directory.delete'
  | 'directory.import'
  | 'grant.change';

export interface AuditEvent {
  action: AuditAction;
  /** What the action concerns: an email, a domain name, a directory entry id, an address. */
  target?: string | undefined;
  /** The domain the action concerns: a domain admin sees the records of their own domains. */
  domainId?: string | null | undefined;
  /** The client's address, when the action came over the network. */
  address?: string | undefined;
  before?: unknown;
  after?: unknown;
  /** Anything else worth keeping (a reason, a count). Keys naming secrets are dropped. */
  detail?: Record<string, unknown> | undefined;
}

/** How an actor is named in the log: the account's email, or who acts as the system. */
export function actorName(actor: Actor): string {
  return actor.kind === 'account' ? actor.email : (actor.via ?? 'system');
}

/** Records one action. Pass the transaction that makes the change. */
export async function recordAudit(db: Db, actor: Actor, event: AuditEvent): Promise<void> {
  await insertAuditRow(db, {
    actor: actorName(actor).toLowerCase(),
    actor_id: actor.kind === 'account' ? actor.accountId : null,
    action: event.action,
    target: event.target?.toLowerCase() ?? null,
    domain_id: event.domainId ?? null,
    address: event.address ?? null,
    detail: auditDetail({ ...event.detail, ...(event.before !== undefined ? { before: event.before } : {}), ...(event.after !== undefined ? { after: event.after } : {}) }),
  });
}

export interface LoginRecord {
  /** The login name tried (stored trimmed, in lower case, at most 320 characters). */
  login: string;
  address: string;
  /** Which door checked the password: dmci (hello), ldap (bind), change-password, console. */
  door: string;
  /** `ok`, or why it failed: bad_credentials, disabled, busy, overloaded, abandoned. */
  outcome: string;
  account?: { id: string; domainId: string } | undefined;
}

/** A password check's outcome. The login tried is the actor: that is who claimed to be acting. */
export async function recordLogin(db: Db, login: LoginRecord): Promise<void> {
  await insertAuditRow(db, {
    actor: login.login.trim().toLowerCase().slice(0, 320),
    actor_id: login.account?.id ?? null,
    action: login.outcome === 'ok' ? 'login.ok' : 'login.failed',
    target: null,
    domain_id: login.account?.domainId ?? null,
    address: login.address,
    detail: auditDetail({ door: login.door, ...(login.outcome === 'ok' ? {} : { reason: login.outcome }) }),
  });
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  detail: unknown;
}

/** Reading the log: a global admin (and the CLI) sees every record, a domain admin those of their domain. */
export class AuditService {
  constructor(private readonly db: Db) {}

  async list(actor: Actor, filter: Omit<AuditFilter, 'domainIds'>): Promise<AuditEntry[]> {
    requireAdmin(actor);
    const domainIds = actor.kind === 'account' && actor.role === 'domain_admin' ? [actor.domainId] : undefined;
    const rows = await listAuditRows(this.db, { ...filter, domainIds });
    return rows.map((r) => ({ id: r.id, at: r.at.toISOString(), actor: r.actor, action: r.action, target: r.target, address: r.address, detail: r.detail }));
  }
}

const PRUNE_BATCH = 10_000;

/** Deletes records older than the retention (DMCI_AUDIT_RETENTION_DAYS) every hour, in batches so no delete holds locks for long. */
export function auditPruneJob(options: { retentionDays: number; intervalMs?: number }): MaintenanceJob {
  return {
    name: 'audit-retention',
    intervalMs: options.intervalMs ?? 60 * 60_000,
    run: async (db, log) => {
      const before = new Date(Date.now() - options.retentionDays * 86_400_000);
      let removed = 0;
      for (let n = PRUNE_BATCH; n === PRUNE_BATCH; removed += n) n = await pruneAuditRows(db, before, PRUNE_BATCH);
      if (removed > 0) log.info({ removed, retentionDays: options.retentionDays }, 'removed audit records past their retention');
    },
  };
}
