import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * The state token of every sync scope (docs/protocol.md, "State tokens").
 * Clients treat it as opaque; this is its one grammar:
 *
 *   "<m>"                       complete: every change up to modseq m
 *   "<m>~a<id>~b<s>"            mid-page of a read that started at state s:
 *                               every row version with (modseq, id) <= (m, id)
 *                               has been sent (~b is left out when s = m)
 *   "<m>~i~a<id>"               mid full sync pinned at m: live rows with id <= <id> sent
 *   "<m>~i<k>~a<id>"            mid full sync pinned at m, walked in (modseq, id) order:
 *                               live rows with (modseq, id) <= (k, id) sent (the GAL)
 *   any of these + "~w<a>_<b>"  a windowed replica covering UTC days [a, b)
 *                               (calendar events only)
 *
 * The (modseq, id) cursor lets a page end inside a group of rows that share
 * one modseq (one write stamps all its objects with one modseq), so
 * maxChanges holds exactly. The base `s` keeps "created" honest across pages:
 * an object created after s and edited before its page was read was never
 * sent, so it must arrive as created, not updated.
 *
 * Tokens of the formats used before this one ("b5.7-<id>", "i7-<id>",
 * "w1_2.7", "7.<id>", "i7.<id>") are recognised and answered with
 * CANNOT_CALCULATE_CHANGES (resync), never misread; anything else malformed
 * is INVALID_STATE.
 */
export interface SyncCursor {
  modseq: number;
  /** Set when a page ended inside a modseq group (or inside a full sync). */
  afterId: string | null;
  /** Mid-page only: the state the paged read started from (the replica is complete up to it). */
  base: number | null;
  /** A full sync pinned at `modseq`, walking live rows by id (or by (modseq, id), see afterModseq). */
  initial: boolean;
  /**
   * Mid full sync of a reader that walks live rows in (modseq, id) order:
   * the modseq of the row at afterId as that page read it (the row may have
   * changed since). Absent for readers that walk by id alone.
   */
  afterModseq?: number;
  window: WindowDays | null;
}

export interface WindowDays {
  startDay: number;
  endDay: number;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const TOKEN = new RegExp(`^(\\d{1,15})(~i(\\d{1,15})?)?(?:~a(${UUID}))?(?:~b(\\d{1,15}))?(?:~w(\\d{1,7})_(\\d{1,7}))?$`);
/** The grammars of the previous calendar and GAL tokens (a plain "<m>" is the same in both). */
const LEGACY = [new RegExp(`^(?:w\\d{1,7}_\\d{1,7}\\.)?(?:b\\d{1,15}\\.)?i?\\d{1,15}(?:-[0-9a-f-]{36})?$`), new RegExp(`^i?\\d{1,15}(?:\\.${UUID})?$`)];

/** A complete state: what push frames, /get, /set and the last /changes page carry. */
export function encodeState(modseq: number): string {
  return String(modseq);
}

export function completeCursor(modseq: number, window: WindowDays | null = null): SyncCursor {
  return { modseq, afterId: null, base: null, initial: false, window };
}

export function encodeCursor(cursor: SyncCursor): string {
  let token = String(cursor.modseq);
  if (cursor.initial && cursor.afterId) token += cursor.afterModseq === undefined ? '~i' : `~i${cursor.afterModseq}`;
  if (cursor.afterId) token += `~a${cursor.afterId}`;
  if (cursor.afterId && !cursor.initial && cursor.base !== null && cursor.base !== cursor.modseq) token += `~b${cursor.base}`;
  if (cursor.window) token += `~w${cursor.window.startDay}_${cursor.window.endDay}`;
  return token;
}

export function decodeCursor(state: string): SyncCursor {
  const match = TOKEN.exec(state);
  if (!match) {
    if (LEGACY.some((pattern) => pattern.test(state))) {
      throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'this state is from an earlier server version: sync again without sinceState');
    }
    throw invalid(state);
  }
  const [, modseq, initial, afterModseq, afterId, base, startDay, endDay] = match;
  if ((initial && !afterId) || (base !== undefined && (initial || Number(base) > Number(modseq)))) throw invalid(state);
  // A full sync's rows are those up to its pinned modseq.
  if (afterModseq !== undefined && Number(afterModseq) > Number(modseq)) throw invalid(state);
  return {
    modseq: Number(modseq),
    afterId: afterId ?? null,
    base: base === undefined ? null : Number(base),
    initial: initial !== undefined,
    ...(afterModseq !== undefined ? { afterModseq: Number(afterModseq) } : {}),
    window: startDay === undefined ? null : { startDay: Number(startDay), endDay: Number(endDay) },
  };
}

/** For ifInState and Push/subscribe: only a complete state names one point in the log. */
export function decodeState(state: string): number {
  const cursor = decodeCursor(state);
  if (cursor.afterId || cursor.initial || cursor.window) throw new DmciError(ErrorCode.INVALID_STATE, 'a complete state is needed here (no paging or window part)');
  return cursor.modseq;
}

function invalid(state: string): DmciError {
  return new DmciError(ErrorCode.INVALID_STATE, `not a state token: ${JSON.stringify(state.slice(0, 60))}`);
}
