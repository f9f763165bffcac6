import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { findAccountById } from '../accounts/account.repository.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { deleteConsoleSession, findConsoleSession, insertConsoleSession, setConsoleFlash, touchConsoleSession, trimConsoleSessions } from './console.repository.ts';

/**
 * Console sessions (docs/security.md "Admin console"). The browser holds a
 * random 256-bit id in an HttpOnly, SameSite=Strict cookie (Secure and
 * `__Host-` prefixed with TLS); PostgreSQL holds only its SHA-256, so every
 * node behind a load balancer knows the session and a copy of the table
 * logs no one in. The CSRF token is derived from the id (a hash no one can
 * turn back into the id), so it is bound to the session without being stored.
 * Each request re-reads the account: a disabled account or a demoted admin
 * loses the console on the next request.
 */
export const SESSIONS_PER_ACCOUNT = 10;
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export type ConsoleActor = Extract<Actor, { kind: 'account' }>;

export interface ActiveSession {
  idHash: Buffer;
  actor: ConsoleActor;
  csrf: string;
}

/** What a request's cookie comes to: a live admin session, or why not. */
export type SessionLookup = { ok: true; session: ActiveSession } | { ok: false; why: 'none' | 'expired' | 'revoked' };

export class ConsoleSessions {
  readonly cookieName: string;

  constructor(private readonly options: { db: Db; idleMs: number; maxMs: number; secure: boolean }) {
    // With TLS the __Host- prefix makes the browser refuse the cookie unless it is Secure, host-only and on path /.
    this.cookieName = options.secure ? '__Host-dmci_console' : 'dmci_console';
  }

  /** Starts a session for an admin who just logged in; returns the id for the cookie. */
  async create(accountId: string, address: string): Promise<string> {
    const id = randomBytes(32).toString('base64url');
    await insertConsoleSession(this.options.db, { idHash: hashId(id), accountId, address });
    await trimConsoleSessions(this.options.db, accountId, SESSIONS_PER_ACCOUNT);
    return id;
  }

  /**
   * The session a cookie header names. `touch`: the request is the admin's
   * doing (a page, a form), so it resets the idle timer and takes the flash
   * message; live updates (the dashboard's stream) do not keep a session alive.
   */
  async lookup(cookieHeader: string | undefined, touch: boolean): Promise<SessionLookup & { flash?: string | null }> {
    const id = readCookie(cookieHeader, this.cookieName);
    if (id === undefined || !ID_PATTERN.test(id)) return { ok: false, why: 'none' };
    const idHash = hashId(id);
    const { db, idleMs, maxMs } = this.options;
    const row = await findConsoleSession(db, idHash);
    if (!row) return { ok: false, why: 'none' };
    if (row.idle_ms > idleMs || row.age_ms > maxMs) {
      await deleteConsoleSession(db, idHash);
      return { ok: false, why: 'expired' };
    }
    const account = await findAccountById(db, row.account_id);
    if (!account?.enabled || account.role === 'user') {
      await deleteConsoleSession(db, idHash);
      return { ok: false, why: 'revoked' };
    }
    const flash = touch ? await touchConsoleSession(db, idHash) : null;
    const actor: ConsoleActor = { kind: 'account', accountId: account.id, role: account.role, domainId: account.domain_id, email: account.email };
    return { ok: true, session: { idHash, actor, csrf: csrfToken(id) }, flash };
  }

  async end(idHash: Buffer): Promise<void> {
    await deleteConsoleSession(this.options.db, idHash);
  }

  async flash(idHash: Buffer, message: string): Promise<void> {
    await setConsoleFlash(this.options.db, idHash, message.slice(0, 1000));
  }

  setCookie(id: string): string {
    return `${this.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}; Max-Age=${Math.floor(this.options.maxMs / 1000)}`;
  }

  clearCookie(): string {
    return `${this.cookieName}=; Path=/; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}; Max-Age=0`;
  }
}

export function hashId(id: string): Buffer {
  return createHash('sha256').update(id).digest();
}

/** The session's CSRF token: a one-way function of the id, under its own label. */
export function csrfToken(id: string): string {
  return createHash('sha256').update('dmci console csrf\0').update(id).digest('base64url');
}

/** Compares a submitted token with the expected one in constant time. */
export function tokensEqual(submitted: string | null | undefined, expected: string): boolean {
  if (typeof submitted !== 'string') return false;
  const a = Buffer.from(submitted);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One cookie's value from a Cookie header (the first of that name). */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
