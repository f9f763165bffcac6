import { EventEmitter } from 'node:events';
import { CloseCode } from '../../protocol/index.ts';
import { findRevokedAccounts } from '../accounts/account.repository.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Session } from './session.ts';

/**
 * The live sessions of this node, by id and by account. Closes an account's
 * sessions when it is disabled or its password changes: on the NOTIFY hint at
 * once, and by a periodic check as a backstop should a hint be lost.
 */
export interface SessionRegistryEvents {
  removed: [Session];
}

export class SessionRegistry extends EventEmitter<SessionRegistryEvents> {
  private readonly byId = new Map<string, Session>();
  private readonly byAccount = new Map<string, Set<Session>>();
  /** Session slots taken by handshakes that passed the cap check but are not added yet. */
  private readonly reserved = new Map<string, number>();
  private readonly checkTimer: NodeJS.Timeout;

  constructor(
    private readonly deps: { db: Db; bus: ClusterBus; log: Logger; metrics: Metrics; checkIntervalMs: number },
  ) {
    super();
    deps.bus.on('hint', (hint) => {
      if (hint.kind === 'account' && this.byAccount.has(hint.accountId)) this.checkAccounts([hint.accountId]);
    });
    deps.bus.on('resync', () => this.checkAccounts([...this.byAccount.keys()]));
    this.checkTimer = setInterval(() => this.checkAccounts([...this.byAccount.keys()]), deps.checkIntervalMs);
    this.checkTimer.unref();
  }

  add(session: Session): void {
    this.byId.set(session.id, session);
    let set = this.byAccount.get(session.account.id);
    if (!set) this.byAccount.set(session.account.id, (set = new Set()));
    set.add(session);
    this.deps.metrics.sessionsAuthenticated.inc();
    this.deps.metrics.sessionsByVersion.inc({ version: String(session.version) });
  }

  remove(session: Session): void {
    if (!this.byId.delete(session.id)) return;
    const set = this.byAccount.get(session.account.id);
    set?.delete(session);
    if (set?.size === 0) this.byAccount.delete(session.account.id);
    this.deps.metrics.sessionsAuthenticated.dec();
    this.deps.metrics.sessionsByVersion.dec({ version: String(session.version) });
    this.emit('removed', session);
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  /**
   * Takes one of the account's `max` session slots for a handshake still
   * under way, or answers false when they are all taken. The check and the
   * taking are one synchronous step, so parallel logins cannot all pass it;
   * `unreserve` gives the slot back once the session was added (or not).
   */
  reserve(accountId: string, max: number): boolean {
    const taken = this.countForAccount(accountId) + (this.reserved.get(accountId) ?? 0);
    if (taken >= max) return false;
    this.reserved.set(accountId, (this.reserved.get(accountId) ?? 0) + 1);
    return true;
  }

  unreserve(accountId: string): void {
    const left = (this.reserved.get(accountId) ?? 1) - 1;
    if (left <= 0) this.reserved.delete(accountId);
    else this.reserved.set(accountId, left);
  }

  countForAccount(accountId: string): number {
    return this.byAccount.get(accountId)?.size ?? 0;
  }

  get size(): number {
    return this.byId.size;
  }

  all(): IterableIterator<Session> {
    return this.byId.values();
  }

  closeAccountSessions(accountId: string, code: number, reason: string, except?: Session): void {
    for (const session of [...(this.byAccount.get(accountId) ?? [])]) {
      if (session !== except) session.transport.close(code, reason);
    }
  }

  stop(): void {
    clearInterval(this.checkTimer);
  }

  private checkAccounts(accountIds: string[]): void {
    if (accountIds.length === 0) return;
    findRevokedAccounts(this.deps.db, accountIds)
      .then((rows) => {
        const found = new Set(rows.map((r) => r.id));
        for (const row of rows) {
          if (!row.enabled) {
            this.closeAccountSessions(row.id, CloseCode.ACCOUNT_DISABLED, 'account disabled');
            continue;
          }
          for (const session of [...(this.byAccount.get(row.id) ?? [])]) {
            if (row.password_changed_at > session.passwordChangedAt) session.transport.close(CloseCode.SESSION_REVOKED, 'password changed');
          }
        }
        for (const id of accountIds) if (!found.has(id)) this.closeAccountSessions(id, CloseCode.ACCOUNT_DISABLED, 'account deleted');
      })
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'session revocation check failed; will retry'));
  }
}
