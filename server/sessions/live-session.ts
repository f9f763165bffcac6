import type { Role } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Logger } from '../log/logger.ts';
import type { Session, SessionTransport } from './session.ts';

/** The account facts a session keeps: a small copy, never the database row (which holds the password hash). */
export interface SessionAccountInfo {
  id: string;
  email: string;
  displayName: string;
  role: Role;
  domain: string;
  domainId: string;
}

/**
 * A session as the gateway creates it. A class rather than an object literal
 * with closures: 20,000 idle sessions must cost little, so nothing here
 * captures more than its fields, and the child logger is made on first use.
 */
export class LiveSession implements Session {
  readonly authenticatedAt = new Date();
  private childLog: Logger | undefined;

  constructor(
    readonly id: string,
    readonly transport: SessionTransport & { readonly connId: string; readonly remoteAddress: string },
    readonly account: SessionAccountInfo,
    readonly version: number,
    readonly clientName: string,
    public passwordChangedAt: Date,
    private readonly rootLog: Logger,
  ) {}

  get connId(): string {
    return this.transport.connId;
  }

  get remoteAddress(): string {
    return this.transport.remoteAddress;
  }

  get actor(): Actor {
    return { kind: 'account', accountId: this.account.id, role: this.account.role, domainId: this.account.domainId, email: this.account.email };
  }

  get log(): Logger {
    return (this.childLog ??= this.rootLog.child({ connId: this.transport.connId, sessionId: this.id, userId: this.account.id }));
  }
}
