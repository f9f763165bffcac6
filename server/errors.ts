// Not protocol/index.ts: this module runs in calendar worker threads too, which should not load every schema.
import type { ErrorBody } from '../protocol/envelope.ts';
import { ErrorCode } from '../protocol/errors.ts';

/**
 * The one error class of the server. Services throw it with a stable code;
 * the gateway and the LDAP door turn it into their own wire form. Anything
 * else that escapes a handler is wrapped as INTERNAL with the original as
 * `cause`, logged at error; DmciErrors are the client's fault and logged at
 * warn (or not at all).
 */
export class DmciError extends Error {
  override readonly name = 'DmciError';
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { details?: unknown; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.details = options.details;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** The error again from its wire form (a worker thread's refusal, which crossed as plain data). */
  static fromBody(body: ErrorBody): DmciError {
    return new DmciError(body.code as ErrorCode, body.message, {
      ...(body.details !== undefined ? { details: body.details } : {}),
      ...(body.retryAfterMs !== undefined ? { retryAfterMs: body.retryAfterMs } : {}),
    });
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    return body;
  }
}

export function toDmciError(error: unknown): DmciError {
  if (error instanceof DmciError) return error;
  if (isDatabaseUnavailable(error)) {
    // Saturation, not a fault: the client may retry the same request (docs/protocol.md, UNAVAILABLE).
    return new DmciError(ErrorCode.UNAVAILABLE, 'the database is busy or unreachable; retry shortly', { retryAfterMs: DATABASE_RETRY_AFTER_MS, cause: error });
  }
  return new DmciError(ErrorCode.INTERNAL, 'internal server error', { cause: error });
}

/** What a client is told to wait when the database is saturated or unreachable. */
export const DATABASE_RETRY_AFTER_MS = 1000;

/**
 * Errors that say "no database right now" rather than "this request is
 * wrong": the pool waited its connection timeout for a free connection, or
 * PostgreSQL refused or dropped the connection (SQLSTATE classes 08
 * connection exception, 53300 too many connections, 57P01–57P03 shutting
 * down or starting). Retrying is safe: a write that lost its connection
 * mid-commit is as uncertain as under INTERNAL, and creates carry
 * idempotency keys for exactly that.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (message === 'timeout exceeded when trying to connect') return true; // pg-pool: no free connection in time
  if (typeof code !== 'string') return false;
  return code.startsWith('08') || code === '53300' || code === '57P01' || code === '57P02' || code === '57P03' || code === 'ECONNREFUSED';
}

export const notFound = (what: string) => new DmciError(ErrorCode.NOT_FOUND, `${what} not found`);
export const forbidden = (why: string) => new DmciError(ErrorCode.FORBIDDEN, why);

/** PostgreSQL's unique_violation, for turning a race on a unique key into ALREADY_EXISTS. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}
