import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * A sync state as the client sees it: an opaque string. Today it is the
 * scope's modseq in decimal; clients must not parse it.
 */
export function encodeState(modseq: number): string {
  return String(modseq);
}

export function decodeState(state: string): number {
  if (!/^\d{1,15}$/.test(state)) throw new DmciError(ErrorCode.INVALID_STATE, `not a state token: ${JSON.stringify(state.slice(0, 40))}`);
  return Number(state);
}
