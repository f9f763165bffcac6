import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import { decodeState, encodeState } from '../sync/state-token.ts';
import type { ChangeCursor } from './directory.repository.ts';

/**
 * GAL state tokens. A complete state is the scope's modseq, exactly as every
 * other scope encodes it (so Push/subscribe accepts it). One write can stamp
 * many rows with one modseq (an import batch stamps up to a thousand), so a
 * Directory/changes page may have to end inside a modseq; its newState is
 * then `<modseq>.<last id>`: "everything before this modseq, and this
 * modseq up to this id". Such a state is only good for the next
 * Directory/changes call; a client subscribes to pushes once hasMoreChanges
 * is false, when newState is always complete.
 */
const PARTIAL = /^(\d{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;
const INITIAL = /^i(\d{1,15})(?:\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}))?$/;

/**
 * A full sync does not walk the change log: after pruning, old live rows
 * carry modseqs below min_modseq, and a log cursor there would be refused
 * forever. It walks the live rows by id as of the modseq the sync started at
 * (`i<modseq>.<last id>`); rows changed meanwhile have a higher modseq and
 * come from the log afterwards, from that modseq.
 */
export interface InitialCursor {
  upTo: number;
  afterId?: string;
}

export function encodeInitialCursor(cursor: InitialCursor): string {
  return `i${cursor.upTo}${cursor.afterId ? `.${cursor.afterId}` : ''}`;
}

/** An initial-sync state token, or undefined for any other token. */
export function decodeInitialCursor(state: string): InitialCursor | undefined {
  const match = INITIAL.exec(state);
  return match ? { upTo: Number(match[1]), ...(match[2] ? { afterId: match[2] } : {}) } : undefined;
}

export function encodeCursor(cursor: ChangeCursor): string {
  return cursor.afterId ? `${cursor.modseq}.${cursor.afterId}` : encodeState(cursor.modseq);
}

export function decodeCursor(state: string): ChangeCursor {
  const partial = PARTIAL.exec(state);
  if (partial) {
    const modseq = Number(partial[1]);
    if (modseq < 1) throw new DmciError(ErrorCode.INVALID_STATE, 'not a GAL state token');
    return { modseq, afterId: partial[2]! };
  }
  return { modseq: decodeState(state) };
}

/**
 * Whether the retained change log covers a client at `cursor`: pruned
 * tombstones all have modseq <= minModseq, so a complete state must be at
 * least minModseq and a partial one must lie beyond it.
 */
export function cursorCovered(cursor: ChangeCursor, minModseq: number): boolean {
  return cursor.afterId ? cursor.modseq > minModseq : cursor.modseq >= minModseq;
}
