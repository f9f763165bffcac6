/**
 * Stable error codes carried in error responses (`{type:'response', ok:false,
 * error:{code, message}}`). Codes never change meaning; new ones may be added.
 * Documented in docs/protocol.md §Errors.
 */
export const ErrorCode = {
  /** The method's arguments failed their schema. The session lives on. */
  INVALID_ARGUMENTS: 'INVALID_ARGUMENTS',
  /** No such method in the negotiated protocol version. */
  UNKNOWN_METHOD: 'UNKNOWN_METHOD',
  /** Authenticated, but this account may not do this. */
  FORBIDDEN: 'FORBIDDEN',
  /** The named object does not exist, or the caller may not know it exists. */
  NOT_FOUND: 'NOT_FOUND',
  /** A create collided with an existing unique name (email, domain, ...). */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** `ifInState` did not match the scope's current state. Nothing was written. */
  STATE_MISMATCH: 'STATE_MISMATCH',
  /** A conditional update's object version did not match. */
  VERSION_MISMATCH: 'VERSION_MISMATCH',
  /** The client's state is older than the retained change log: resync fully. */
  CANNOT_CALCULATE_CHANGES: 'CANNOT_CALCULATE_CHANGES',
  /** The state token is malformed or belongs to another scope. */
  INVALID_STATE: 'INVALID_STATE',
  /** iCalendar text that could not be parsed or violates a rule. */
  INVALID_ICALENDAR: 'INVALID_ICALENDAR',
  /** An object or request exceeds a documented size or count limit. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
  /** The per-connection request rate was exceeded; retry after `retryAfterMs`. */
  RATE_LIMITED: 'RATE_LIMITED',
  /** More requests in flight on this socket than `limits.maxInFlight`. */
  TOO_MANY_IN_FLIGHT: 'TOO_MANY_IN_FLIGHT',
  /** The request did not finish within the server's time limit. */
  TIMEOUT: 'TIMEOUT',
  /** The server is draining or a dependency is down; retry on another node. */
  UNAVAILABLE: 'UNAVAILABLE',
  /** An attendee's answer names an older SEQUENCE than the organizer's current one: read the copy again and answer that. */
  STALE_ANSWER: 'STALE_ANSWER',
  /** An attendee's write changed what only the organizer may change (times, recurrence, location, summary, attendees). */
  ORGANIZER_OWNED: 'ORGANIZER_OWNED',
  /** Resource/decide: accepting the held request would overlap a booking of the resource (`details.conflicts`). */
  BOOKING_CONFLICT: 'BOOKING_CONFLICT',
  /** A bug or an unexpected failure on the server. Logged with details there. */
  INTERNAL: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Error codes used inside the handshake (sent in an `error` frame before closing). */
export const HandshakeErrorCode = {
  AUTH_FAILED: 'AUTH_FAILED',
  ACCOUNT_DISABLED: 'ACCOUNT_DISABLED',
  UNSUPPORTED_VERSION: 'UNSUPPORTED_VERSION',
  TOO_MANY_SESSIONS: 'TOO_MANY_SESSIONS',
  BLOCKED: 'BLOCKED',
  LOGIN_IN_PROGRESS: 'LOGIN_IN_PROGRESS',
  SERVER_BUSY: 'SERVER_BUSY',
} as const;
export type HandshakeErrorCode = (typeof HandshakeErrorCode)[keyof typeof HandshakeErrorCode];
