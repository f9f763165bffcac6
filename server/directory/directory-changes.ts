import type { DirectoryChangesPage, DirectoryEntry } from '../../protocol/index.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import type { Db } from '../db/database.ts';
import { notFound } from '../errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { galScope } from '../sync/scope-id.ts';
import { encodeState, type SyncCursor } from '../sync/state-token.ts';
import { aliasesInRange, aliasesOf, listChanges, listLiveById, memberCounts, membersOf, type EntryRow } from './directory.repository.ts';
import { toDirectoryEntry } from './directory.mapper.ts';
import type { GalSnapshotPages, SnapshotKey, SnapshotPage } from './gal-snapshot-pages.ts';

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
export async function galChanges(db: Db, domainId: string, sinceState: string | undefined, maxChanges: number, options: { upTo?: number; snapshots?: GalSnapshotPages } = {}): Promise<DirectoryChangesPage> {
  const scope = galScope(domainId);
  return readChanges(
    db,
    scope,
    sinceState,
    async ({ trx, upTo: end, since }) => {
      const entries = new Map<string, DirectoryEntry>();
      const page = await walkLog(galReader({ db, trx, domainId, since, entries, snapshots: options.snapshots }), since, end, maxChanges);
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
    { notFound: () => notFound('GAL'), ...(options.upTo !== undefined ? { upTo: options.upTo } : {}) },
  );
}

interface GalRead {
  /** The pool, for read-aheads in their own snapshot. */
  db: Db;
  /** The answer's snapshot. */
  trx: Db;
  domainId: string;
  since: SyncCursor | null;
  /** Filled with the page's rendered entries (reused for the answer). */
  entries: Map<string, DirectoryEntry>;
  snapshots: GalSnapshotPages | undefined;
}

/**
 * directory_entries as the walker reads them. `fit` renders the page's
 * visible rows into `entries` and ends the page before the first that would
 * pass the answer's byte budget. A full sync's pages come through the shared
 * snapshot pages (gal-snapshot-pages.ts), rendered and fitted already.
 */
function galReader({ db, trx, domainId, since, entries, snapshots }: GalRead): ChangeLogReader<EntryRow> {
  // An entry hidden since before the client's state was never held by it: its edits name nothing (no stray ids of hidden entries).
  const seenUpTo = since ? (since.afterId ? since.modseq - 1 : since.modseq) : 0;
  const neverHeld = (row: EntryRow) => !row.visible && (row.visibility_modseq ?? 0) <= seenUpTo;
  let snapshot: SnapshotPage | undefined;
  return {
    changes: (after, upTo, limit) => listChanges(trx, domainId, after, upTo, limit),
    live: async (pinned, afterId, limit) => {
      const key = { domainId, pinned, afterId, limit };
      snapshot = snapshots ? await snapshots.page(key, () => readSnapshotPage(trx, key)) : await readSnapshotPage(trx, key);
      snapshots?.readAhead(key, snapshot, (next) => db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((own) => readSnapshotPage(own, next)));
      for (const [id, entry] of snapshot.entries) entries.set(id, entry);
      return snapshot.rows;
    },
    entry: (row) => ({ id: row.id, modseq: row.modseq, createdModseq: neverHeld(row) ? Number.MAX_SAFE_INTEGER : (row.created_modseq ?? 0), gone: !row.visible }),
    fit: async (rows) => snapshot?.fitted ?? (await fitRows(trx, rows, entries)).fitted,
  };
}

/** A full sync's page: the live rows after `afterId` as of `pinned`, rendered and fitted; keeps one row past the page when there is more. */
async function readSnapshotPage(db: Db, key: SnapshotKey): Promise<SnapshotPage> {
  const rows = await listLiveById(db, key.domainId, key.pinned, key.afterId, key.limit);
  const entries = new Map<string, DirectoryEntry>();
  // The walker offers the page at most limit - 1 rows (one more tells it there is more).
  // The page's rows are a range of ids: their aliases are read by that range.
  const byRange: AliasReader = (page) => (page.length === 0 ? Promise.resolve(new Map()) : aliasesInRange(db, key.domainId, key.afterId, page.at(-1)!.id));
  const { fitted, bytes } = await fitRows(db, rows.slice(0, key.limit - 1), entries, byRange);
  // Rows and rendered entries held together: about three times the encoded size.
  return { rows: rows.slice(0, fitted + 1), entries, fitted, bytes: 3 * bytes };
}

/**
 * Renders the visible rows that may fit into `entries`; how many fit the
 * answer's byte budget, and their encoded bytes. The budget counts each
 * entry's size as a map: the page travels by column (protocol/entry-columns.ts),
 * which is never larger than the same entries as maps, beyond a few hundred
 * bytes of column headers that ANSWER_RESERVE_BYTES covers
 * (test/protocol/entry-columns.test.ts checks it).
 */
async function fitRows(db: Db, rows: readonly EntryRow[], entries: Map<string, DirectoryEntry>, aliases: AliasReader = (page) => aliasesOf(db, page.map((r) => r.id))): Promise<{ fitted: number; bytes: number }> {
  const estimated = rows.slice(0, await pageLength(db, rows));
  const visible = estimated.filter((r) => r.visible);
  const rendered = await toEntries(db, visible, aliases);
  visible.forEach((row, i) => entries.set(row.id, rendered[i]!));
  const budget = new AnswerBudget();
  let fitted = 0;
  for (const row of estimated) {
    if (!budget.fits(row.visible ? entries.get(row.id) : row.id)) break;
    fitted++;
  }
  return { fitted, bytes: budget.usedBytes };
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

/** How a page reads the aliases of its rows (in id order). */
type AliasReader = (rows: readonly EntryRow[]) => Promise<Map<string, string[]>>;

/** Visible rows → entries, in order (aliases and visible members in two queries). */
async function toEntries(db: Db, rows: readonly EntryRow[], aliasesOfRows: AliasReader): Promise<DirectoryEntry[]> {
  const aliases = await aliasesOfRows(rows);
  const members = await membersOf(db, rows.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  return rows.map((row) => toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
}
