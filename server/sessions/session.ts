import type { SessionAccount } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Logger } from '../log/logger.ts';

/**
 * An authenticated session as the layers below the gateway see it: who it is,
 * and how to reach it. The gateway implements `transport`; nothing below it
 * touches a socket.
 */
export interface SessionTransport {
  /** Sends an already-encoded frame (encode once, send many). Returns false if the socket is gone. */
  sendEncoded(bytes: Uint8Array): boolean;
  /** Bytes queued in the socket's send buffer. */
  readonly bufferedAmount: number;
  close(code: number, reason: string): void;
}

export interface Session {
  readonly id: string;
  readonly connId: string;
  readonly account: SessionAccount & { domainId: string };
  readonly actor: Actor;
  readonly version: number;
  readonly clientName: string;
  readonly authenticatedAt: Date;
  /**
   * The account's password_changed_at when this session authenticated (from
   * the database, so node clocks do not matter). A later value in the
   * database revokes the session; a password change made by this session
   * moves it forward so only the other sessions close.
   */
  passwordChangedAt: Date;
  readonly remoteAddress: string;
  readonly log: Logger;
  readonly transport: SessionTransport;
}
