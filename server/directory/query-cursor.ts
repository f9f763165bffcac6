import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * Keyset cursor of Directory/query and Admin/directoryList: the last row's
 * (lower(display name), id), opaque to clients. Paging by it stays one index
 * range scan however deep the client pages, unlike an offset.
 */
export function encodeQueryCursor(sortName: string, id: string): string {
  return Buffer.from(JSON.stringify([sortName, id])).toString('base64url');
}

export function decodeQueryCursor(cursor: string): { name: string; id: string } {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string' && /^[0-9a-f-]{36}$/.test(value[1])) {
      return { name: value[0], id: value[1] };
    }
  } catch {
    // fall through to the error below
  }
  throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'not a cursor returned by this method', { details: [{ path: 'after', message: 'unknown cursor' }] });
}
