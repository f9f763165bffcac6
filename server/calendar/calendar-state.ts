import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * State tokens of calendar scopes (opaque to clients):
 *
 *   "<m>"              every change up to modseq m
 *   "b<s>.<m>-<id>"    mid-page of a read that started at state s: every row
 *                      version with (modseq, id) <= (m, id) has been sent
 *   "i<m>-<id>"        mid initial sync pinned at m: live rows with id <= <id> sent
 *   "w<a>_<b>.<...>"   any of the above for a windowed replica covering UTC days [a, b)
 *
 * The (modseq, id) cursor lets a page end inside a group of rows that share
 * one modseq (one /set call stamps all its objects with one modseq), so
 * maxChanges holds exactly. The base `s` keeps "created" honest across pages:
 * an object created after s that was edited before its page was read was
 * never sent, so it must arrive as created, not updated. The window part lets
 * a later call work out which events entered or left the window because time
 * passed.
 */

export interface SyncCursor {
  modseq: number;
  /** Set when a page ended inside a modseq group (or inside an initial sync). */
  afterId: string | null;
  /** Mid-page only: the state the paged read started from (the replica is complete up to it). */
  base?: number | null;
  initial: boolean;
  window: { startDay: number; endDay: number } | null;
}

const pattern = /^(?:w(\d{1,7})_(\d{1,7})\.)?(?:b(\d{1,15})\.)?(i?)(\d{1,15})(?:-([0-9a-f-]{36}))?$/;

export function encodeCursor(cursor: SyncCursor): string {
  const window = cursor.window ? `w${cursor.window.startDay}_${cursor.window.endDay}.` : '';
  const base = cursor.afterId && !cursor.initial && cursor.base != null && cursor.base !== cursor.modseq ? `b${cursor.base}.` : '';
  return `${window}${base}${cursor.initial ? 'i' : ''}${cursor.modseq}${cursor.afterId ? `-${cursor.afterId}` : ''}`;
}

export function decodeCursor(state: string): SyncCursor {
  const match = pattern.exec(state);
  const bad = () => new DmciError(ErrorCode.INVALID_STATE, `not a calendar state: ${JSON.stringify(state.slice(0, 60))}`);
  if (!match) throw bad();
  const [, startDay, endDay, base, initial, modseq, afterId] = match;
  if ((initial && !afterId) || (base !== undefined && (!afterId || initial || Number(base) > Number(modseq)))) throw bad();
  return {
    window: startDay !== undefined ? { startDay: Number(startDay), endDay: Number(endDay) } : null,
    initial: initial === 'i',
    modseq: Number(modseq),
    afterId: afterId ?? null,
    ...(base !== undefined ? { base: Number(base) } : {}),
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
