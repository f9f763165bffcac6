import type { Transaction } from 'kysely';
import { ErrorCode } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { DmciError } from '../errors.ts';
import { completeCursor, decodeCursor, encodeCursor, encodeState, type SyncCursor, type WindowDays } from './state-token.ts';
import { readScope, type ScopeState } from './sync-scope.repository.ts';

/**
 * The one change-log walker behind every `/changes` and every push payload
 * (DESIGN §4). A feature supplies a row reader for its table; the walker
 * owns the snapshot, the state tokens, the coverage rules, the paging and the
 * created / updated / destroyed rule, so every scope syncs the same way.
 *
 * Rows are walked in (modseq, id) order; a page may end inside a group
 * sharing one modseq because the cursor carries the id too. Without a state
 * it is a full sync: live rows in id order pinned at the modseq the first
 * page saw, then the log from there.
 */

/** How the walker sees one row of a feature's table. */
export interface LogEntry {
  id: string;
  modseq: number;
  /** The modseq of the write that created the object (0 if unknown). */
  createdModseq: number;
  /** A tombstone, or a row this reader must not show (hidden, outside a window): sent as destroyed. */
  gone: boolean;
}

export interface ChangeLogReader<Row> {
  /** Rows, live and gone, with (modseq, id) after `after` and modseq <= upTo, in that order, at most `limit`. */
  changes(after: { modseq: number; id: string | null }, upTo: number, limit: number): Promise<Row[]>;
  /**
   * A full sync's rows: live objects as of `pinned` with id > afterId, in id
   * order, at most `limit`; with liveByModseq, those with (modseq, id) >
   * (afterModseq, afterId) in (modseq, id) order instead.
   */
  live(pinned: number, afterId: string | null, limit: number, afterModseq?: number): Promise<Row[]>;
  /**
   * Full-sync rows come in (modseq, id) order (the order the table's rows
   * were written in, so a page reads neighbouring rows rather than rows
   * scattered by a random id): the state carries the last row's modseq too.
   */
  liveByModseq?: boolean;
  entry(row: Row): LogEntry;
  /**
   * Where a page may end early: how many of `rows` (in order, already at
   * most maxChanges) fit one page — at least one when there are any. Without
   * it a page is bounded by maxChanges alone. A byte budget plugs in here.
   */
  fit?(rows: readonly Row[]): Promise<number> | number;
}

export interface ChangePage<Row> {
  created: Row[];
  updated: Row[];
  destroyed: string[];
  newState: string;
  hasMoreChanges: boolean;
}

export interface ChangeRead {
  trx: Transaction<Database>;
  scope: ScopeState;
  /** The modseq the answer ends at: the scope's, or a push's target. */
  upTo: number;
  /** The decoded sinceState; null for a full sync. */
  since: SyncCursor | null;
}

/**
 * Opens the one REPEATABLE READ snapshot a `/changes` answer is read in: the
 * scope's modseq and min_modseq first, then (in `read`) the rows, so the
 * answer is exactly the log up to that modseq. Refuses a state this scope
 * cannot continue from. `upTo` bounds the answer below the scope's modseq
 * (push sends exactly (from, to]).
 */
export async function readChanges<T>(
  db: Db,
  scopeId: string,
  sinceState: string | undefined,
  read: (at: ChangeRead) => Promise<T>,
  options: { notFound: () => DmciError; upTo?: number },
): Promise<T> {
  const since = sinceState === undefined ? null : decodeCursor(sinceState);
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const scope = await readScope(trx, scopeId);
      if (!scope) throw options.notFound();
      const upTo = Math.min(scope.modseq, options.upTo ?? Infinity);
      if (since) checkCovered(since, scope, upTo);
      return read({ trx, scope, upTo, since });
    });
}

/**
 * Whether the retained log reaches back to the cursor: pruned tombstones all
 * have modseq <= min_modseq, so a complete (or pinned full-sync) state must
 * be at least min_modseq and a mid-group one must lie beyond it (it may have
 * missed pruned tombstones of its own group).
 */
function checkCovered(since: SyncCursor, scope: ScopeState, upTo: number): void {
  // Newer than the scope: a state it never issued (another scope's, or from before a restore).
  if (since.modseq > upTo) throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'this scope never issued this state: sync again without sinceState');
  const covered = since.afterId && !since.initial ? since.modseq > scope.minModseq : since.modseq >= scope.minModseq;
  if (!covered) {
    throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the change log no longer reaches back to this state: sync again without sinceState', {
      details: { minState: encodeState(scope.minModseq) },
    });
  }
}

/**
 * One page from `since` up to `upTo`. Live rows go to `created` when the
 * object was created after the state the read began from (a paged read may
 * have skipped its earlier version), else `updated`; gone rows go to
 * `destroyed` unless created after the cursor (no page can have sent them).
 * `window` is carried in the state tokens for the reader's sake.
 */
export async function walkLog<Row>(reader: ChangeLogReader<Row>, since: SyncCursor | null, upTo: number, maxChanges: number, window: WindowDays | null = since?.window ?? null): Promise<ChangePage<Row>> {
  if (!since || since.initial) {
    const pinned = since ? since.modseq : upTo;
    const rows = await reader.live(pinned, since?.afterId ?? null, maxChanges + 1, since?.afterModseq);
    const { page, more } = await takePage(reader, rows, maxChanges);
    const lastRow = page.at(-1);
    const last = lastRow === undefined ? undefined : reader.entry(lastRow);
    return {
      created: page.filter((row) => !reader.entry(row).gone),
      updated: [],
      destroyed: [],
      newState: encodeCursor(
        more && last ? { modseq: pinned, afterId: last.id, ...(reader.liveByModseq ? { afterModseq: last.modseq } : {}), base: null, initial: true, window } : completeCursor(pinned, window),
      ),
      // The log may have moved on while the full sync ran: the client continues from `pinned`.
      hasMoreChanges: more || upTo > pinned,
    };
  }

  const rows = await reader.changes({ modseq: since.modseq, id: since.afterId }, upTo, maxChanges + 1);
  const { page, more } = await takePage(reader, rows, maxChanges);
  const base = since.base ?? since.modseq;
  const out: ChangePage<Row> = { created: [], updated: [], destroyed: [], newState: '', hasMoreChanges: more };
  for (const row of page) {
    const entry = reader.entry(row);
    if (entry.gone) {
      if (!createdAfter(entry, since)) out.destroyed.push(entry.id);
    } else (entry.createdModseq > base ? out.created : out.updated).push(row);
  }
  const last = page.at(-1);
  const lastEntry = last === undefined ? undefined : reader.entry(last);
  out.newState = encodeCursor(
    !more
      ? completeCursor(upTo, window)
      : lastEntry
        ? { modseq: lastEntry.modseq, afterId: lastEntry.id, base, initial: false, window }
        : { modseq: since.modseq, afterId: since.afterId, base, initial: false, window },
  );
  return out;
}

/** Was the row created after the cursor position (so no page can have sent any version of it)? */
export function createdAfter(entry: LogEntry, since: SyncCursor): boolean {
  if (entry.createdModseq !== since.modseq || !since.afterId) return entry.createdModseq > since.modseq;
  return entry.id > since.afterId;
}

async function takePage<Row>(reader: ChangeLogReader<Row>, rows: Row[], maxChanges: number): Promise<{ page: Row[]; more: boolean }> {
  let take = Math.min(rows.length, maxChanges);
  if (reader.fit && take > 0) take = Math.max(1, Math.min(take, await reader.fit(rows.slice(0, take))));
  return { page: rows.slice(0, take), more: rows.length > take };
}
