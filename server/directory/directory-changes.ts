import { Encoded, encodeMap, encodeValue, ErrorCode, packEntries, type DirectoryChangesWire, type DirectoryEntry, type DirectoryEntryColumns } from '../../protocol/index.ts';
import { AnswerBudget, ANSWER_BUDGET_BYTES } from '../answers/answer-budget.ts';
import type { Db } from '../db/database.ts';
import { DmciError, notFound } from '../errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { galScope } from '../sync/scope-id.ts';
import { encodeState, type SyncCursor } from '../sync/state-token.ts';
import { aliasesOf, aliasesOfLivePage, listChanges, listLivePage, memberCounts, membersOf, type EntryRow, type LivePosition } from './directory.repository.ts';
import { toDirectoryEntry, toEntryColumns, type ShownRow } from './directory.mapper.ts';
import type { GalSnapshotPages, SnapshotKey, SnapshotPage } from './gal-snapshot-pages.ts';

/**
 * Directory/changes (and the GAL's push payloads): the sync core's walker
 * over directory_entries, answered in the wire form (entries by column).
 * Readers never see hidden entries, disabled accounts or tombstones: those
 * rows count as gone (sent as destroyed). A full sync walks the visible rows
 * in (modseq, id) order as of the modseq it started at, a page at a time from the shared
 * snapshot pages (gal-snapshot-pages.ts), rendered, packed and encoded
 * once: such a page's answer is encoded around the page's bytes.
 */
export async function galChanges(
  db: Db,
  domainId: string,
  sinceState: string | undefined,
  maxChanges: number,
  options: { upTo?: number; snapshots?: GalSnapshotPages } = {},
): Promise<DirectoryChangesWire | Encoded<DirectoryChangesWire>> {
  const scope = galScope(domainId);
  return readChanges(
    db,
    scope,
    sinceState,
    async ({ trx, upTo: end, since }) => {
      const gal = galReader({ db, trx, domainId, since, snapshots: options.snapshots });
      const page = await walkLog(gal.reader, since, end, maxChanges);
      const [created, updated] = [gal.columns(page.created), gal.columns(page.updated)];
      const answer = { scope, oldState: sinceState ?? encodeState(0), newState: page.newState, hasMoreChanges: page.hasMoreChanges, created, updated, destroyed: page.destroyed };
      return created instanceof Encoded || updated instanceof Encoded ? encodeMap<DirectoryChangesWire>(answer) : { ...answer, created, updated };
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
  snapshots: GalSnapshotPages | undefined;
}

/**
 * A row as the walker meets it: a changed row of the log (rendered when the
 * page is fitted), or the place of a full sync's entry (its page comes
 * rendered and packed from the snapshot).
 */
type GalRow = EntryRow | LivePosition;
const isLogRow = (row: GalRow): row is EntryRow => 'visible' in row;
const EMPTY: DirectoryEntryColumns = { count: 0, columns: {} };

/** A full sync's state from before its pages were walked by (modseq, id) names no place in this order. */
function byIdOnly(): never {
  throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'this full-sync state is from an earlier server version: sync again without sinceState');
}

/**
 * directory_entries as the walker reads them, and the page's entries by
 * column once it has walked. A full sync's page is the snapshot page as it
 * is (fitted exactly by its encoded size); a page of the log renders its
 * visible rows and ends before the first that would pass the answer's byte
 * budget (counted as maps: an upper bound however the walker splits the page
 * into created and updated).
 */
function galReader({ db, trx, domainId, since, snapshots }: GalRead): { reader: ChangeLogReader<GalRow>; columns: (rows: readonly GalRow[]) => DirectoryEntryColumns | Encoded<DirectoryEntryColumns> } {
  // An entry hidden since before the client's state was never held by it: its edits name nothing (no stray ids of hidden entries).
  const seenUpTo = since ? (since.afterId ? since.modseq - 1 : since.modseq) : 0;
  const neverHeld = (row: EntryRow) => !row.visible && (row.visibility_modseq ?? 0) <= seenUpTo;
  let snapshot: SnapshotPage | undefined;
  const entries = new Map<string, DirectoryEntry>();
  const reader: ChangeLogReader<GalRow> = {
    changes: (after, upTo, limit) => listChanges(trx, domainId, after, upTo, limit),
    liveByModseq: true,
    live: async (pinned, afterId, limit, afterModseq) => {
      const key = { domainId, pinned, after: afterId === null ? null : { modseq: afterModseq ?? byIdOnly(), id: afterId }, limit };
      snapshot = snapshots ? await snapshots.page(key, () => readSnapshotPage(trx, key)) : await readSnapshotPage(trx, key);
      snapshots?.readAhead(key, snapshot, (next) => db.transaction().setIsolationLevel('repeatable read').setAccessMode('read only').execute((own) => readSnapshotPage(own, next)));
      // The row past the page tells the walker there is more.
      return snapshot.next === null ? [...snapshot.rows] : [...snapshot.rows, snapshot.next];
    },
    entry: (row) =>
      isLogRow(row)
        ? { id: row.id, modseq: row.modseq, createdModseq: neverHeld(row) ? Number.MAX_SAFE_INTEGER : (row.created_modseq ?? 0), gone: !row.visible }
        : // A full sync's entry: live, and created for a client that holds nothing.
          { id: row.id, modseq: row.modseq, createdModseq: 0, gone: false },
    fit: async (rows) => snapshot?.rows.length ?? (await fitRows(trx, rows.filter(isLogRow), entries)),
  };
  const columns = (rows: readonly GalRow[]): DirectoryEntryColumns | Encoded<DirectoryEntryColumns> => {
    if (rows.length === 0) return EMPTY;
    if (snapshot) {
      // The walker took the snapshot page whole: fit answered its length, and a full sync's rows all go to created.
      if (rows.length !== snapshot.rows.length) throw new Error(`a full sync's page of ${rows.length} rows from a snapshot page of ${snapshot.rows.length}`);
      return snapshot.columns;
    }
    return packEntries(rows.filter(isLogRow).map((row) => entries.get(row.id)!));
  };
  return { reader, columns };
}

/**
 * A full sync's page: the live entries after `afterId` as of `pinned`, at
 * most limit - 1 (one more tells the walker there is more), rendered
 * straight into columns, encoded, and fitted by that exact size to the
 * answer's byte budget (so a page is as long as the budget allows).
 */
async function readSnapshotPage(db: Db, key: SnapshotKey): Promise<SnapshotPage> {
  const rows = await listLivePage(db, key.domainId, key.pinned, key.after, key.limit);
  let length = await membersMayFit(db, rows.slice(0, key.limit - 1));
  // The page's rows are a range of the walk: their aliases are read by that range, the members of its groups by id.
  const aliases = length === 0 ? new Map<string, string[]>() : await aliasesOfLivePage(db, key.domainId, key.pinned, key.after, rows[length - 1]!);
  const members = await membersOf(db, rows.slice(0, length).filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  const pack = (n: number) => encodeValue(toEntryColumns(rows.slice(0, n), aliases, members));
  let columns = pack(length);
  while (columns.byteLength > ANSWER_BUDGET_BYTES && length > 1) {
    // Entries are about equally large on average: cut in proportion, a little under, and measure again.
    length = Math.max(1, Math.min(length - 1, Math.floor((length * ANSWER_BUDGET_BYTES * 0.98) / columns.byteLength)));
    columns = pack(length);
  }
  const place = ({ modseq, id }: ShownRow): LivePosition => ({ modseq, id });
  const next = rows[length];
  // Held: the encoded columns and a place (a small object sharing the id string) per entry.
  return { rows: rows.slice(0, length).map(place), next: next ? place(next) : null, columns, bytes: columns.byteLength + PLACE_BYTES * length };
}

/**
 * How many of the rows a page could hold at most, counting only what no
 * entry goes without: its id and its visible member ids (38 encoded bytes
 * each). A lower bound of the page's size, so it never ends a page that
 * fits; it spares reading and rendering the members of groups far beyond
 * the page's end. Member counts include hidden members: an upper bound.
 */
async function membersMayFit(db: Db, rows: readonly Pick<ShownRow, 'id' | 'kind'>[]): Promise<number> {
  const counts = await memberCounts(db, rows.filter((r) => r.kind === 'group').map((r) => r.id));
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    bytes += ID_BYTES * (1 + (counts.get(rows[i]!.id) ?? 0));
    if (bytes > ANSWER_BUDGET_BYTES && i > 0) return i;
  }
  return rows.length;
}
/** What a page's place of one entry ({modseq, id}) takes in memory, about. */
const PLACE_BYTES = 48;
/** A uuid string as msgpack: a str8 header of two bytes and 36 characters. */
const ID_BYTES = 38;

/**
 * Renders the visible rows of a page of the log into `entries` and tells
 * how many of the rows fit the answer's byte budget, each entry counted as a
 * map: the page travels by column (protocol/entry-columns.ts), never larger
 * than the same entries as maps beyond a few hundred bytes of column headers
 * that ANSWER_RESERVE_BYTES covers (test/protocol/entry-columns.test.ts
 * checks it), however the walker splits it into created and updated.
 */
async function fitRows(db: Db, rows: readonly EntryRow[], entries: Map<string, DirectoryEntry>): Promise<number> {
  const visible = rows.slice(0, await membersMayFit(db, rows)).filter((r) => r.visible);
  const aliases = await aliasesOf(db, visible.map((r) => r.id));
  const members = await membersOf(db, visible.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
  for (const row of visible) entries.set(row.id, toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
  const budget = new AnswerBudget();
  let fitted = 0;
  for (const row of rows) {
    if (!budget.fits(row.visible ? entries.get(row.id) : row.id)) break;
    fitted++;
  }
  return fitted;
}
