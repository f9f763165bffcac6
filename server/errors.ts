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

  toBody(): ErrorBody {
    const body: ErrorBody = { code: this.code, message: this.message };
    if (this.details !== undefined) body.details = this.details;
    if (this.retryAfterMs !== undefined) body.retryAfterMs = this.retryAfterMs;
    return body;
  }
}

export function toDmciError(error: unknown): DmciError {
  if (error instanceof DmciError) return error;
  return new DmciError(ErrorCode.INTERNAL, 'internal server error', { cause: error });
}

export const notFound = (what: string) => new DmciError(ErrorCode.NOT_FOUND, `${what} not found`);
export const forbidden = (why: string) => new DmciError(ErrorCode.FORBIDDEN, why);

/** PostgreSQL's unique_violation, for turning a race on a unique key into ALREADY_EXISTS. */
export function isUniqueViolation(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
}
