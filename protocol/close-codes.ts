/**
 * WebSocket close codes the server uses, besides the standard ones ws sends by
 * itself (1009 message too big, 1006 abnormal). Documented in
 * docs/protocol.md §Close codes. A client reconnects after any of them except
 * those marked `final`.
 */
export const CloseCode = {
  /** Normal end (client said goodbye). */
  NORMAL: 1000,
  /** A frame's envelope could not be decoded or validated (not msgpack, not a map, bad shape). */
  PROTOCOL_ERROR: 4000,
  /** No protocol version in common. Final for this client build. */
  UNSUPPORTED_VERSION: 4001,
  /** Credentials or resume token rejected. Final until the credentials change. */
  AUTH_FAILED: 4002,
  /** No successful `hello` within the pre-auth deadline. */
  AUTH_TIMEOUT: 4003,
  /** A frame other than `hello` arrived before the `welcome` (a `ping` included), or a second `hello` while the first is checked. */
  NOT_AUTHENTICATED: 4004,
  /** The account is disabled. Final. */
  ACCOUNT_DISABLED: 4005,
  /** The session was revoked (password changed, logged out elsewhere). Re-authenticate with the password. */
  SESSION_REVOKED: 4006,
  /** The connection broke a rate or size policy. Back off before reconnecting. */
  POLICY_VIOLATION: 4008,
  /** The client could not keep up with pushes; reconnect and call `/changes`. */
  SLOW_CONSUMER: 4009,
  /** The account has too many concurrent sessions. */
  TOO_MANY_SESSIONS: 4010,
  /** Refused by the IP screen or dynamic blocking. */
  BLOCKED: 4011,
  /** Another login attempt from this address, or for this login name, is still being checked (or serving its failed-login delay). Retry after `retryAfterMs`. */
  LOGIN_IN_PROGRESS: 4012,
  /** The server's password-hashing queue is full; nothing was checked. Retry after `retryAfterMs`. */
  SERVER_BUSY: 4013,
  /** The server is shutting down: reconnect, to another node if there is one. */
  GOING_AWAY: 4100,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];
