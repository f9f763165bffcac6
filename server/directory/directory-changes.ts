import type { DirectoryChangesPage, DirectoryEntry } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { encodeState } from '../sync/state-token.ts';
import { encodeCursor, encodeInitialCursor, type InitialCursor } from './directory-state.ts';
import { aliasesOf, listChanges, listLiveById, memberCounts, membersOf, type ChangeCursor, type EntryRow } from './directory.repository.ts';
import { toDirectoryEntry } from './directory.mapper.ts';

/**
 * A page is also bounded by an estimate of its encoded size, so a page of
 * large groups stays well under what a client buffers comfortably.
 */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;

export type ChangesBody = Omit<DirectoryChangesPage, 'scope' | 'oldState'>;

/**
 * One page of a full sync (directory-state.ts, InitialCursor): live visible
 * rows as of `cursor.upTo`, by id. The last page's state is `upTo` itself;
 * hasMoreChanges stays true while the scope has moved past it, so the client
 * continues through the log from there.
 */
export async function readInitialPage(db: Db, domainId: string, cursor: InitialCursor, current: number, maxChanges: number): Promise<ChangesBody> {
  const rows = await listLiveById(db, domainId, cursor.upTo, cursor.afterId, maxChanges);
  const take = await pageLength(db, rows, maxChanges);
  const page = rows.slice(0, take);
  const more = rows.length > take;
  const { created } = await toEntries(db, page, () => true);
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
  const take = await pageLength(db, rows, maxChanges);
  const page = rows.slice(0, take);
  const hasMoreChanges = rows.length > take;

  // Entries created after the client's state are new to it; an entry becoming visible again is sent as updated (clients upsert both).
  const seenUpTo = cursor.afterId ? cursor.modseq - 1 : cursor.modseq;
  const { created, updated } = await toEntries(db, page, (row) => (row.created_modseq ?? 0) > seenUpTo);
  // Only entries the client could have held: an edit of an entry that stays hidden names nothing.
  const destroyed = page.filter((r) => !r.visible && (r.visibility_modseq ?? 0) > seenUpTo).map((r) => r.id);

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
 * How many of the rows fit the page: at most maxChanges, and about
 * MAX_PAGE_BYTES (at least one row). A group's size depends on its member
 * count, read in one query for the groups among the rows.
 */
async function pageLength(db: Db, rows: readonly EntryRow[], maxChanges: number): Promise<number> {
  const limit = Math.min(rows.length, maxChanges);
  const counts = await memberCounts(db, rows.slice(0, limit).filter((r) => r.kind === 'group').map((r) => r.id));
  let bytes = 0;
  for (let i = 0; i < limit; i++) {
    // ~400 bytes of keys and values, ~40 per member id.
    bytes += 400 + 40 * (counts.get(rows[i]!.id) ?? 0);
    if (bytes > MAX_PAGE_BYTES && i > 0) return i;
  }
  return limit;
}

/** Visible rows → entries (aliases and visible members in two queries), split into created and updated. */
async function toEntries(db: Db, rows: readonly EntryRow[], isNew: (row: EntryRow) => boolean): Promise<{ created: DirectoryEntry[]; updated: DirectoryEntry[] }> {
  const visible = rows.filter((r) => r.visible);
  const aliases = await aliasesOf(db, visible.map((r) => r.id));
  const members = await membersOf(db, visible.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  const created: DirectoryEntry[] = [];
  const updated: DirectoryEntry[] = [];
  for (const row of visible) (isNew(row) ? created : updated).push(toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
  return { created, updated };
}
