import type { DirectoryChangesPage, DirectoryEntry } from '../../protocol/index.ts';
import { AnswerBudget, ANSWER_RESERVE_BYTES } from '../answers/answer-budget.ts';
import { DefaultLimits } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { encodeState } from '../sync/state-token.ts';
import { encodeCursor, encodeInitialCursor, type InitialCursor } from './directory-state.ts';
import { aliasesOf, listChanges, listLiveById, memberCounts, membersOf, type ChangeCursor, type EntryRow } from './directory.repository.ts';
import { toDirectoryEntry } from './directory.mapper.ts';

/**
 * Rows loaded for a page are first cut by an estimate of their size (member
 * counts, one cheap query) so that large groups' members are not loaded for
 * nothing; the page is then cut exactly by the answer's byte budget.
 */
const ESTIMATE_BYTES = DefaultLimits.maxAnswerBytes - ANSWER_RESERVE_BYTES;

export type ChangesBody = Omit<DirectoryChangesPage, 'scope' | 'oldState'>;

/**
 * One page of a full sync (directory-state.ts, InitialCursor): live visible
 * rows as of `cursor.upTo`, by id. The last page's state is `upTo` itself;
 * hasMoreChanges stays true while the scope has moved past it, so the client
 * continues through the log from there.
 */
export async function readInitialPage(db: Db, domainId: string, cursor: InitialCursor, current: number, maxChanges: number): Promise<ChangesBody> {
  const rows = await listLiveById(db, domainId, cursor.upTo, cursor.afterId, maxChanges);
  const { page, created } = await fittingPage(db, rows.slice(0, await pageLength(db, rows, maxChanges)), () => true);
  const more = rows.length > page.length;
  return {
    newState: more ? encodeInitialCursor({ upTo: cursor.upTo, afterId: page[page.length - 1]!.id }) : encodeState(cursor.upTo),
    hasMoreChanges: more || current > cursor.upTo,
    created,
    updated: [],
    destroyed: [],
  };
}

/**
 * Reads one page of the GAL change log after `cursor`, up to the scope's
 * committed `upTo`. Callers that need the page and the scope's modseq to
 * agree run this in the same REPEATABLE READ transaction that read upTo.
 */
export async function readChangesPage(db: Db, domainId: string, cursor: ChangeCursor, upTo: number, maxChanges: number): Promise<ChangesBody> {
  const rows = await listChanges(db, domainId, cursor, upTo, maxChanges, { visibleOnly: false });
  // Entries created after the client's state are new to it; an entry becoming visible again is sent as updated (clients upsert both).
  const seenUpTo = cursor.afterId ? cursor.modseq - 1 : cursor.modseq;
  // Only entries the client could have held are destroyed: an edit of an entry that stays hidden names nothing.
  const couldHold = (row: EntryRow) => (row.visibility_modseq ?? 0) > seenUpTo;
  const { page, created, updated, destroyed } = await fittingPage(db, rows.slice(0, await pageLength(db, rows, maxChanges)), (row) => (row.created_modseq ?? 0) > seenUpTo, couldHold);
  const take = page.length;
  const hasMoreChanges = rows.length > take;

  let newState: string;
  if (!hasMoreChanges) newState = encodeState(upTo);
  else {
    const last = page[page.length - 1]!;
    const next = rows[take]!;
    // The page ends between two modseqs: a complete state. Inside one: a partial state naming the last id.
    newState = next.modseq !== last.modseq ? encodeState(last.modseq) : encodeCursor({ modseq: last.modseq, afterId: last.id });
  }
  return { newState, hasMoreChanges, created, updated, destroyed };
}

/**
 * How many of the rows to load for the page: at most maxChanges, and about
 * the answer's byte budget by estimate (at least one row). A group's size depends on its member
 * count, read in one query for the groups among the rows.
 */
async function pageLength(db: Db, rows: readonly EntryRow[], maxChanges: number): Promise<number> {
  const limit = Math.min(rows.length, maxChanges);
  const counts = await memberCounts(db, rows.slice(0, limit).filter((r) => r.kind === 'group').map((r) => r.id));
  let bytes = 0;
  for (let i = 0; i < limit; i++) {
    // ~400 bytes of keys and values, ~40 per member id.
    bytes += 400 + 40 * (counts.get(rows[i]!.id) ?? 0);
    if (bytes > ESTIMATE_BYTES && i > 0) return i;
  }
  return limit;
}

/**
 * Rows → the page: visible rows as entries (aliases and visible members in
 * two queries), split into created and updated, invisible ones as destroyed
 * ids; in row order, ending before the first that would pass the answer's
 * byte budget (never before the first row).
 */
async function fittingPage(db: Db, rows: readonly EntryRow[], isNew: (row: EntryRow) => boolean, couldHold: (row: EntryRow) => boolean = () => true) {
  const visible = rows.filter((r) => r.visible);
  const aliases = await aliasesOf(db, visible.map((r) => r.id));
  const members = await membersOf(db, visible.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  const created: DirectoryEntry[] = [];
  const updated: DirectoryEntry[] = [];
  const destroyed: string[] = [];
  const bytes = new AnswerBudget();
  let taken = 0;
  for (const row of rows) {
    const entry = row.visible ? toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)) : undefined;
    if (!bytes.fits(entry ?? row.id)) break;
    if (!entry) {
      if (couldHold(row)) destroyed.push(row.id);
    } else (isNew(row) ? created : updated).push(entry);
    taken++;
  }
  return { page: rows.slice(0, taken), created, updated, destroyed };
}
