import type { DirectoryChangesPage, DirectoryEntry } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { encodeState } from '../sync/state-token.ts';
import { encodeCursor } from './directory-state.ts';
import { aliasesOf, listChanges, membersOf, type ChangeCursor, type EntryRow } from './directory.repository.ts';
import { toDirectoryEntry } from './directory.mapper.ts';

/**
 * A page is also bounded by an estimate of its encoded size, so a page of
 * large groups stays well under what a client buffers comfortably.
 */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;

export type ChangesBody = Omit<DirectoryChangesPage, 'scope' | 'oldState'>;

/**
 * Reads one page of the GAL change log after `cursor`, up to the scope's
 * committed `upTo`. Callers that need the page and the scope's modseq to
 * agree run this in the same REPEATABLE READ transaction that read upTo.
 * `initial` (no client state) lists only visible entries and no tombstones.
 */
export async function readChangesPage(db: Db, domainId: string, cursor: ChangeCursor, upTo: number, maxChanges: number, initial: boolean): Promise<ChangesBody> {
  const rows = await listChanges(db, domainId, cursor, upTo, maxChanges, { visibleOnly: initial });
  let take = Math.min(rows.length, maxChanges);
  let bytes = 0;
  for (let i = 0; i < take; i++) {
    bytes += estimateBytes(rows[i]!);
    if (bytes > MAX_PAGE_BYTES && i > 0) take = i;
  }
  const page = rows.slice(0, take);
  const hasMoreChanges = rows.length > take;

  const visible = page.filter((r) => r.visible);
  const aliases = await aliasesOf(db, visible.map((r) => r.id));
  const members = await membersOf(db, visible.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  const created: DirectoryEntry[] = [];
  const updated: DirectoryEntry[] = [];
  const destroyed: string[] = [];
  // Entries created after the client's state are new to it; an entry becoming visible again is sent as updated (clients upsert both).
  const seenUpTo = cursor.afterId ? cursor.modseq - 1 : cursor.modseq;
  for (const row of page) {
    if (!row.visible) destroyed.push(row.id);
    else (initial || (row.created_modseq ?? 0) > seenUpTo ? created : updated).push(toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
  }

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

function estimateBytes(row: EntryRow): number {
  // Fixed keys and ids ~400 bytes, plus a generous share for member ids (fetched later).
  return 400 + (row.kind === 'group' ? 2_000 : 0);
}
