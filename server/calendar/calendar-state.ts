import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * State tokens of calendar scopes (opaque to clients):
 *
 *   "<m>"              every change up to modseq m
 *   "<m>-<id>"         mid-page: every row version with (modseq, id) <= (m, id)
 *   "i<m>-<id>"        mid initial sync pinned at m: live rows with id <= <id> sent
 *   "w<a>_<b>.<...>"   any of the above for a windowed replica covering UTC days [a, b)
 *
 * The (modseq, id) cursor lets a page end inside a group of rows that share
 * one modseq (one /set call stamps all its objects with one modseq), so
 * maxChanges holds exactly. The window part lets a later call work out which
 * events entered or left the window because time passed.
 */

export interface SyncCursor {
  modseq: number;
  /** Set when a page ended inside a modseq group (or inside an initial sync). */
  afterId: string | null;
  initial: boolean;
  window: { startDay: number; endDay: number } | null;
}

const pattern = /^(?:w(\d{1,7})_(\d{1,7})\.)?(i?)(\d{1,15})(?:-([0-9a-f-]{36}))?$/;

export function encodeCursor(cursor: SyncCursor): string {
  const window = cursor.window ? `w${cursor.window.startDay}_${cursor.window.endDay}.` : '';
  return `${window}${cursor.initial ? 'i' : ''}${cursor.modseq}${cursor.afterId ? `-${cursor.afterId}` : ''}`;
}

export function decodeCursor(state: string): SyncCursor {
  const match = pattern.exec(state);
  if (!match || (match[3] && !match[5])) throw new DmciError(ErrorCode.INVALID_STATE, `not a calendar state: ${JSON.stringify(state.slice(0, 60))}`);
  return {
    window: match[1] !== undefined ? { startDay: Number(match[1]), endDay: Number(match[2]) } : null,
    initial: match[3] === 'i',
    modseq: Number(match[4]),
    afterId: match[5] ?? null,
  };
}

/** The plain form used by Calendar/get, /set results and push frames. */
export function plainState(modseq: number): string {
  return String(modseq);
}

/** For ifInState: only a plain state names one point in the log. */
export function decodePlainState(state: string): number {
  const cursor = decodeCursor(state);
  if (cursor.afterId || cursor.initial || cursor.window) throw new DmciError(ErrorCode.INVALID_STATE, 'ifInState needs a complete state (no paging or window part)');
  return cursor.modseq;
}
