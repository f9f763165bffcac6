import type { DirectoryChangesPage, DirectoryEntry } from '../../protocol/index.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import type { Db } from '../db/database.ts';
import { notFound } from '../errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { galScope } from '../sync/scope-id.ts';
import { encodeState, type SyncCursor } from '../sync/state-token.ts';
import { aliasesOf, listChanges, listLiveById, memberCounts, membersOf, type EntryRow } from './directory.repository.ts';
import { toDirectoryEntry } from './directory.mapper.ts';

/**
 * A page is also bounded by an estimate of its encoded size, so a page of
 * large groups stays well under what a client buffers comfortably.
 */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024;

/**
 * Directory/changes (and the GAL's push payloads): the sync core's walker
 * over directory_entries. Readers never see hidden entries, disabled
 * accounts or tombstones: those rows count as gone (sent as destroyed). A
 * full sync walks the visible rows by id as of the modseq it started at.
 */
export async function galChanges(db: Db, domainId: string, sinceState: string | undefined, maxChanges: number, upTo?: number): Promise<DirectoryChangesPage> {
  const scope = galScope(domainId);
  return readChanges(
    db,
    scope,
    sinceState,
    async ({ trx, upTo: end, since }) => {
      const entries = new Map<string, DirectoryEntry>();
      const page = await walkLog(galReader(trx, domainId, since, entries), since, end, maxChanges);
      const rendered = (row: EntryRow) => entries.get(row.id)!;
      return {
        scope,
        oldState: sinceState ?? encodeState(0),
        newState: page.newState,
        hasMoreChanges: page.hasMoreChanges,
        created: page.created.map(rendered),
        updated: page.updated.map(rendered),
        destroyed: page.destroyed,
      };
    },
    { notFound: () => notFound('GAL'), ...(upTo !== undefined ? { upTo } : {}) },
  );
}

/**
 * directory_entries as the walker reads them. `fit` renders the page's
 * visible rows into `entries` (reused for the answer) and ends the page
 * before the first that would pass the answer's byte budget.
 */
function galReader(db: Db, domainId: string, since: SyncCursor | null, entries: Map<string, DirectoryEntry>): ChangeLogReader<EntryRow> {
  // An entry hidden since before the client's state was never held by it: its edits name nothing (no stray ids of hidden entries).
  const seenUpTo = since ? (since.afterId ? since.modseq - 1 : since.modseq) : 0;
  const neverHeld = (row: EntryRow) => !row.visible && (row.visibility_modseq ?? 0) <= seenUpTo;
  return {
    changes: (after, upTo, limit) => listChanges(db, domainId, after, upTo, limit),
    live: (pinned, afterId, limit) => listLiveById(db, domainId, pinned, afterId, limit),
    entry: (row) => ({ id: row.id, modseq: row.modseq, createdModseq: neverHeld(row) ? Number.MAX_SAFE_INTEGER : (row.created_modseq ?? 0), gone: !row.visible }),
    fit: async (rows) => {
      const estimated = rows.slice(0, await pageLength(db, rows));
      const visible = estimated.filter((r) => r.visible);
      const rendered = await toEntries(db, visible);
      visible.forEach((row, i) => entries.set(row.id, rendered[i]!));
      const bytes = new AnswerBudget();
      let fitting = 0;
      for (const row of estimated) {
        if (!bytes.fits(row.visible ? entries.get(row.id) : row.id)) break;
        fitting++;
      }
      return fitting;
    },
  };
}

/**
 * How many of the rows fit the page: about MAX_PAGE_BYTES. A group's size
 * depends on its member count, read in one query for the groups among the rows.
 */
async function pageLength(db: Db, rows: readonly EntryRow[]): Promise<number> {
  const counts = await memberCounts(db, rows.filter((r) => r.kind === 'group').map((r) => r.id));
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    // ~400 bytes of keys and values, ~40 per member id.
    bytes += 400 + 40 * (counts.get(rows[i]!.id) ?? 0);
    if (bytes > MAX_PAGE_BYTES && i > 0) return i;
  }
  return rows.length;
}

/** Visible rows → entries, in order (aliases and visible members in two queries). */
async function toEntries(db: Db, rows: readonly EntryRow[]): Promise<DirectoryEntry[]> {
  const aliases = await aliasesOf(db, rows.map((r) => r.id));
  const members = await membersOf(db, rows.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  return rows.map((row) => toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
}
