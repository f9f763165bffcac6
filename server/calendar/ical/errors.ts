import { ErrorCode } from '../../../protocol/errors.ts';
import { DmciError } from '../../errors.ts';

export type IcalErrorCode = typeof ErrorCode.INVALID_ICALENDAR | typeof ErrorCode.LIMIT_EXCEEDED;

/**
 * A DmciError so the gateway turns it into a client error as is; the narrower
 * code type tells callers which two codes this module can produce.
 */
export class IcalError extends DmciError {
  declare readonly code: IcalErrorCode;

  constructor(code: IcalErrorCode, message: string, details?: unknown) {
    super(code, message, details === undefined ? {} : { details });
  }
}

export const invalid = (message: string, details?: unknown): IcalError => new IcalError(ErrorCode.INVALID_ICALENDAR, message, details);
export const tooBig = (message: string, details?: unknown): IcalError => new IcalError(ErrorCode.LIMIT_EXCEEDED, message, details);
