import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, type Account, type Role } from '../../protocol/index.ts';
import { sendHints } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import { findDomainByName } from '../domains/domain.repository.ts';
import { DmciError, isUniqueViolation, notFound } from '../errors.ts';
import { requireAdmin, requireDomainAdminOf, requireDomainNamed, requireMayGrant, type Actor } from './actor.ts';
import {
  deleteResumeTokensOf,
  deleteResumeTokensOfSession,
  findAccountByEmail,
  findAccountById,
  findResumeToken,
  insertAccount,
  insertResumeToken,
  listAccounts,
  readPrivileges,
  setPasswordHash,
  takeResumeToken,
  updateAccount,
  type AccountWithDomain,
} from './account.repository.ts';
import type { PasswordHasher } from './password-hasher.ts';
import type { HashTicket } from '../security/hash-queue.ts';
import { LoginGuard, type LoginAbandoned, type LoginRefusal, type LoginSource } from '../security/login-guard.ts';
import { recordAudit, recordLogin, type AuditAction } from '../audit/audit.service.ts';
import { canonicalLanguage } from './language.ts';

export type { AccountWithDomain };

/** Hooks other features run inside the transaction that creates or changes an account. */
export type AccountHook = (trx: Db, account: AccountWithDomain) => Promise<void>;

export type AuthOutcome =
  | { ok: true; account: AccountWithDomain }
  | { ok: false; reason: 'bad_credentials' | 'disabled' };

/** A password login as the login guard answers it: refused before the check, abandoned by the client, or checked. */
export type GuardedAuth = AuthOutcome | LoginRefusal | LoginAbandoned;

/** Where a password check comes from, for the login guard and the audit log (`door`: dmci, ldap, console; default dmci). */
export type LoginOrigin = Omit<LoginSource, 'login'> & { door?: string };

/** The guard an AccountService gets when none is given (tests and the CLI): the documented defaults. */
const defaultGuard = () => new LoginGuard({ failures: 10, windowMs: 10 * 60_000, blockMs: 15 * 60_000, maxDelayMs: 15_000 });

export interface IssuedToken {
  token: string;
  expiresAt: Date;
}

export class AccountService {
  private readonly createdHooks: AccountHook[] = [];
  private readonly changedHooks: AccountHook[] = [];

  constructor(
    private readonly db: Db,
    private readonly hasher: PasswordHasher,
    private readonly resumeTokenTtlMs: number,
    private readonly guard: LoginGuard = defaultGuard(),
    /** After an account write commits, before it is acknowledged: LDAP nodes' read window (cluster/directory-read-lease.ts). */
    private readonly settle: () => Promise<void> = async () => {},
  ) {}

  /** Runs inside the creating transaction: the default calendar, the GAL entry, ... */
  onAccountCreated(hook: AccountHook): void {
    this.createdHooks.push(hook);
  }

  /** Runs inside the transaction that changes name, role or enabled state. */
  onAccountChanged(hook: AccountHook): void {
    this.changedHooks.push(hook);
  }

  // ---- authentication ----

  /**
   * Checks a password, through the login guard (every door that checks a
   * password comes here). Unknown logins cost the same as known ones;
   * whether an account is disabled is only revealed to someone who knows its
   * password.
   */
  async authenticate(login: string, password: string, origin: LoginOrigin): Promise<GuardedAuth> {
    const outcome = await this.guard.attempt({ ...origin, login }, (ticket) => this.checkPassword(login, password, ticket));
    await this.recordCheck(login, origin, outcome.ok ? { ok: true, account: outcome.account } : outcome);
    return outcome;
  }

  /**
   * Every password check's outcome goes to the audit log, here, where every
   * door's check passes. A refusal because the address is blocked is not
   * recorded each time (a blocked client may retry in a loop): its block is,
   * once, when it starts.
   */
  private async recordCheck(login: string, origin: LoginOrigin, outcome: { ok: true; account: { id: string; domain_id: string } } | { ok: false; reason: string; refused?: string }): Promise<void> {
    if (!outcome.ok && outcome.refused === 'blocked') return;
    await recordLogin(this.db, {
      login,
      address: origin.address,
      door: origin.door ?? 'dmci',
      outcome: outcome.ok ? 'ok' : (outcome.refused ?? outcome.reason),
      account: outcome.ok ? { id: outcome.account.id, domainId: outcome.account.domain_id } : undefined,
    });
  }

  private async checkPassword(login: string, password: string, ticket: HashTicket): Promise<AuthOutcome> {
    const account = await findAccountByEmail(this.db, login);
    if (!account) {
      await this.hasher.verifyDummy(password, ticket);
      return { ok: false, reason: 'bad_credentials' };
    }
    if (!(await this.hasher.verify(account.password_hash, password, ticket))) return { ok: false, reason: 'bad_credentials' };
    if (!account.enabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account };
  }

  /** Issues a resume token: 32 random bytes, only their SHA-256 stored. */
  async issueResumeToken(accountId: string, sessionId: string, clientName: string): Promise<IssuedToken> {
    const token = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Date.now() + this.resumeTokenTtlMs);
    await insertResumeToken(this.db, { token_hash: hashToken(token), account_id: accountId, session_id: sessionId, client_name: clientName, expires_at: expiresAt });
    return { token, expiresAt };
  }

  /**
   * Checks a resume token without using it up, so that a handshake refused
   * for another reason (too many sessions, the node draining) does not burn
   * the client's token. `consumeResumeToken` then takes it.
   */
  async checkResumeToken(token: string): Promise<AuthOutcome | undefined> {
    const stored = await findResumeToken(this.db, hashToken(token));
    if (!stored) return undefined;
    const account = await findAccountById(this.db, stored.account_id);
    if (!account) return undefined;
    if (!account.enabled) return { ok: false, reason: 'disabled' };
    return { ok: true, account };
  }

  /** Uses a resume token up; false when it is gone (another hello took it first, or it was revoked meanwhile). */
  async consumeResumeToken(token: string): Promise<boolean> {
    return (await takeResumeToken(this.db, hashToken(token))) !== undefined;
  }

  /**
   * The actor as the database has it now. A privileged actor's role, enabled
   * state and domain are re-read for each request (admin requests are few,
   * and a cached role would let a demoted admin keep its power on open
   * sessions); a plain user's need no re-read, as a promotion grants nothing
   * to a session opened before it. Throws FORBIDDEN for a disabled or deleted
   * account (its session is being closed).
   */
  async currentActor(actor: Actor): Promise<Actor> {
    if (actor.kind !== 'account' || actor.role === 'user') return actor;
    const now = await readPrivileges(this.db, actor.accountId);
    if (!now?.enabled) throw new DmciError(ErrorCode.FORBIDDEN, 'this account is disabled');
    if (now.role === actor.role && now.domain_id === actor.domainId) return actor;
    return { ...actor, role: now.role, domainId: now.domain_id };
  }

  async revokeSessionTokens(accountId: string, sessionId: string): Promise<void> {
    await deleteResumeTokensOfSession(this.db, accountId, sessionId);
  }

  /** Returns the new password_changed_at, which the calling session adopts so that only the other sessions close. */
  async changeOwnPassword(accountId: string, currentPassword: string, newPassword: string, origin: LoginOrigin): Promise<Date> {
    const account = await findAccountById(this.db, accountId);
    if (!account) throw notFound('account');
    // The current password is a password check like a login: the same guard, keyed by the account's login name.
    const outcome = await this.guard.attempt({ ...origin, login: account.email }, async (ticket) =>
      (await this.hasher.verify(account.password_hash, currentPassword, ticket)) ? { ok: true as const } : { ok: false as const, reason: 'bad_credentials' as const },
    );
    await this.recordCheck(account.email, { door: 'change-password', ...origin }, outcome.ok ? { ok: true, account } : outcome);
    if (!outcome.ok) {
      if (outcome.reason === 'refused') throw refusalError(outcome);
      throw new DmciError(ErrorCode.FORBIDDEN, 'the current password is wrong');
    }
    return this.replacePassword(account.id, newPassword, { actor: actorOf(account), action: 'account.password.change', address: origin.address });
  }

  // ---- administration ----

  async create(
    actor: Actor,
    input: { email: string; displayName: string; password: string; role: Role; ifNotExists?: boolean },
  ): Promise<{ account: Account; created: boolean }> {
    requireAdmin(actor);
    requireMayGrant(actor, input.role);
    const domainName = input.email.split('@')[1]!;
    const domain = requireDomainNamed(actor, await findDomainByName(this.db, domainName), domainName);

    const existing = await findAccountByEmail(this.db, input.email);
    if (existing) {
      if (input.ifNotExists) return { account: toAccount(existing), created: false };
      throw new DmciError(ErrorCode.ALREADY_EXISTS, `account ${input.email} already exists`);
    }
    const passwordHash = await this.hasher.hash(input.password);
    try {
      const account = await this.db.transaction().execute(async (trx) => {
        const { id } = await insertAccount(trx, {
          domain_id: domain.id,
          email: input.email,
          display_name: input.displayName,
          password_hash: passwordHash,
          role: input.role,
        });
        const row = (await findAccountById(trx, id))!;
        for (const hook of this.createdHooks) await hook(trx, row);
        await recordAudit(trx, actor, { action: 'account.create', target: row.email, domainId: row.domain_id, after: audited(row) });
        return row;
      });
      await this.settle();
      return { account: toAccount(account), created: true };
    } catch (error) {
      if (isUniqueViolation(error)) {
        const raced = await findAccountByEmail(this.db, input.email);
        if (raced && input.ifNotExists) return { account: toAccount(raced), created: false };
        throw new DmciError(ErrorCode.ALREADY_EXISTS, `account ${input.email} already exists`);
      }
      throw error;
    }
  }

  async get(actor: Actor, email: string): Promise<Account> {
    return toAccount(await this.requireManageable(actor, email));
  }

  async list(actor: Actor, filter: { domain?: string; after?: string; limit: number; search?: string }): Promise<{ accounts: Account[]; hasMore: boolean }> {
    requireAdmin(actor);
    let domainId: string | undefined;
    if (filter.domain) {
      domainId = requireDomainNamed(actor, await findDomainByName(this.db, filter.domain), filter.domain).id;
    }
    if (actor.kind === 'account' && actor.role === 'domain_admin') domainId = actor.domainId;
    const page = await listAccounts(this.db, { domainId, after: filter.after, limit: filter.limit, search: filter.search });
    return { accounts: page.rows.map(toAccount), hasMore: page.hasMore };
  }

  async update(actor: Actor, email: string, changes: { displayName?: string | undefined; role?: Role | undefined; language?: string | null | undefined }): Promise<Account> {
    const account = await this.requireManageable(actor, email);
    if (changes.role) requireMayGrant(actor, changes.role);
    return this.change(
      account.id,
      {
        ...(changes.displayName !== undefined ? { display_name: changes.displayName } : {}),
        ...(changes.role !== undefined ? { role: changes.role } : {}),
        ...(changes.language !== undefined ? { language: canonicalLanguage(changes.language) } : {}),
      },
      { audit: { actor, action: 'account.update', before: account } },
    );
  }

  /** The account's own preferences (Account/getPreferences). */
  async preferences(accountId: string): Promise<{ language: string | null }> {
    const account = await findAccountById(this.db, accountId);
    if (!account) throw notFound('account');
    return { language: account.language };
  }

  /** The account changes its own preferences (Account/setPreferences): audited like an admin's change of them. */
  async setPreferences(accountId: string, changes: { language?: string | null | undefined }): Promise<{ language: string | null }> {
    const account = await findAccountById(this.db, accountId);
    if (!account) throw notFound('account');
    if (changes.language === undefined) return { language: account.language };
    const updated = await this.change(account.id, { language: canonicalLanguage(changes.language) }, { audit: { actor: actorOf(account), action: 'account.update', before: account } });
    return { language: updated.language };
  }

  /** Disables an account; every node closes its sessions on the NOTIFY sent at commit. */
  async setEnabled(actor: Actor, email: string, enabled: boolean): Promise<Account> {
    const account = await this.requireManageable(actor, email);
    if (actor.kind === 'account' && actor.accountId === account.id && !enabled) {
      throw new DmciError(ErrorCode.FORBIDDEN, 'an admin cannot disable their own account');
    }
    return this.change(account.id, { enabled }, { revokeSessions: !enabled, audit: { actor, action: enabled ? 'account.enable' : 'account.disable', before: account } });
  }

  async setPassword(actor: Actor, email: string, password: string): Promise<Account> {
    const account = await this.requireManageable(actor, email);
    await this.replacePassword(account.id, password, { actor, action: 'account.password.set' });
    return toAccount((await findAccountById(this.db, account.id))!);
  }

  private async replacePassword(accountId: string, password: string, audit: { actor: Actor; action: AuditAction; address?: string }): Promise<Date> {
    const passwordHash = await this.hasher.hash(password);
    const changedAt = await this.db.transaction().execute(async (trx) => {
      const changedAt = await setPasswordHash(trx, accountId, passwordHash);
      await deleteResumeTokensOf(trx, accountId);
      const account = (await findAccountById(trx, accountId))!;
      await recordAudit(trx, audit.actor, { action: audit.action, target: account.email, domainId: account.domain_id, address: audit.address });
      await announceAccountChange(trx, accountId);
      return changedAt;
    });
    await this.settle();
    return changedAt;
  }

  private async change(
    accountId: string,
    changes: Parameters<typeof updateAccount>[2],
    options: { revokeSessions?: boolean; audit: { actor: Actor; action: AuditAction; before: AccountWithDomain } },
  ): Promise<Account> {
    const row = await this.db.transaction().execute(async (trx) => {
      await updateAccount(trx, accountId, changes);
      if (options.revokeSessions) await deleteResumeTokensOf(trx, accountId);
      const updated = (await findAccountById(trx, accountId))!;
      for (const hook of this.changedHooks) await hook(trx, updated);
      const { actor, action, before } = options.audit;
      await recordAudit(trx, actor, { action, target: updated.email, domainId: updated.domain_id, before: audited(before), after: audited(updated) });
      await announceAccountChange(trx, accountId);
      return updated;
    });
    await this.settle();
    return toAccount(row);
  }

  private async requireManageable(actor: Actor, email: string): Promise<AccountWithDomain> {
    requireAdmin(actor);
    const account = await findAccountByEmail(this.db, email);
    if (!account) throw notFound(`account ${email}`);
    requireDomainAdminOf(actor, account.domain_id, `account ${email}`);
    if (account.role === 'global_admin') requireMayGrant(actor, 'global_admin');
    return account;
  }
}

/**
 * Tells every node (and the CLI's absence of one does not matter: this rides
 * on the transaction) that an account changed, so live sessions are checked
 * at once. Account changes are rare admin actions, so an in-transaction
 * NOTIFY is fine here, unlike on the sync write path.
 */
async function announceAccountChange(trx: Db, accountId: string): Promise<void> {
  await sendHints(trx, [{ kind: 'account', accountId }]);
}

/** A login-guard refusal as a request error: RATE_LIMITED (blocked, or another check in flight) or UNAVAILABLE (hashing queue full). */
function refusalError(refusal: LoginRefusal): DmciError {
  const { retryAfterMs } = refusal;
  if (refusal.refused === 'overloaded') return new DmciError(ErrorCode.UNAVAILABLE, 'too many password checks at once; try again later', { retryAfterMs });
  return new DmciError(
    ErrorCode.RATE_LIMITED,
    refusal.refused === 'blocked' ? 'too many failed password checks from this address' : 'another password check for this address or account is in progress',
    { retryAfterMs },
  );
}

/** What the audit log keeps of an account: never its password hash. */
function audited(row: AccountWithDomain) {
  return { email: row.email, displayName: row.display_name, role: row.role, enabled: row.enabled, language: row.language };
}

/** An account acting on itself (changing its own password). */
function actorOf(row: AccountWithDomain): Actor {
  return { kind: 'account', accountId: row.id, role: row.role, domainId: row.domain_id, email: row.email };
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

export function toAccount(row: AccountWithDomain): Account {
  return {
    id: row.id,
    email: row.email,
    displayName: row.display_name,
    domain: row.domain_name,
    role: row.role,
    enabled: row.enabled,
    language: row.language,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
