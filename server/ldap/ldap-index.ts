import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { PreEncodedEntry } from './ldap-entry.ts';
import type { IndexFilter } from './ldap-index-filter.ts';
import { findEntries } from './ldap-index-filter-search.ts';
import { entryBytes, indexEntry, Snapshot, type IndexedEntry } from './ldap-index-snapshot.ts';
import { readChangedEntryIds, readGalVersion, readIndexRows, type GalVersion } from './ldap-search.repository.ts';

/**
 * The LDAP door's per-node in-memory index of the GAL, for the searches
 * address books send: any filter over the attributes it holds (Outlook's
 * ambiguous-name filter, exact mail lookups, AND/OR/NOT, substrings;
 * ldap-index-filter.ts decides which). PostgreSQL stays the truth;
 * this is derived from it and answers only when provably current:
 *
 * - **Freshness.** Every search reads the domain's GAL scope version (one
 *   primary-key read, beside the account check). Every GAL write bumps that
 *   scope in its transaction (DESIGN §4), so an index behind it first reads
 *   the entries changed since (their modseq, and entries whose manager
 *   changed, since the manager DN is shown) and applies them before
 *   answering: a search sees every directory write committed before it
 *   started, on any node. Too many changes at once (INDEX_MAX_CHANGES), or a
 *   version below the log's pruned floor (min_modseq), and SQL answers while
 *   the index is rebuilt.
 * - **Visibility.** Entries are read by galQuery (visible entries, visible
 *   managers) and rendered by galEntry, the same policy the SQL path applies;
 *   a change that hides an entry removes it.
 * - **Memory.** All domains' indexes together stay under `maxBytes`
 *   (DMCI_LDAP_INDEX_MAX_MB); a domain that does not fit is answered by SQL
 *   and tried again after INDEX_RETRY_MS.
 * - **Building** happens off the request path on the first search of a
 *   domain (SQL answers until it is ready), in pages, yielding to the event
 *   loop between them.
 */

/** Changed entries held beside a snapshot; more, and the snapshot is rebuilt in the background. */
export const INDEX_REBUILD_AFTER = 1_000;
/** Entries one catch-up may apply; more, and SQL answers until a rebuilt snapshot is ready. */
export const INDEX_MAX_CHANGES = 10_000;
/** After a build that did not fit in the memory bound, the domain is tried again after this long. */
export const INDEX_RETRY_MS = 10 * 60_000;
/** Rows read per round trip while building. */
const BUILD_PAGE = 2_000;

class DomainIndex {
  /** Changed entries since the snapshot: their current form, or null when no longer visible. */
  readonly changes = new Map<string, IndexedEntry | null>();
  changeBytes = 0;
  catchingUp: Promise<boolean> | undefined;

  constructor(
    readonly snapshot: Snapshot,
    /** The GAL scope version everything here reflects (at least). */
    public applied: number,
  ) {}

  get bytes(): number {
    return this.snapshot.bytes + this.changeBytes;
  }
}

/** One search's look at an index, fresh as of its version read. */
export class IndexView {
  constructor(
    private readonly snapshot: Snapshot,
    private readonly changes: ReadonlyMap<string, IndexedEntry | null>,
  ) {}

  /** Up to `limit` entries matching the filter with ids after `after`, in id order, as galQuery would find them (see findEntries). */
  lookup(filter: IndexFilter, after: string | undefined, limit: number, wanted: readonly boolean[], deadline: number): Promise<PreEncodedEntry[]> {
    return findEntries(this.snapshot, this.changes, filter, after, limit, wanted, deadline);
  }
}

export class LdapIndex {
  private readonly domains = new Map<string, DomainIndex>();
  private readonly building = new Map<string, Promise<void>>();
  private readonly refusedAt = new Map<string, number>();
  /** Searches this index answered (the rest went to SQL). */
  answered = 0;

  /** `onBytes`: told the new total whenever it changes (the dmci_ldap_index_bytes gauge). */
  constructor(private readonly deps: { db: Db; maxBytes: number; log: Logger; onBytes?: (bytes: number) => void }) {}

  get enabled(): boolean {
    return this.deps.maxBytes > 0;
  }

  /** Bytes held by every domain's index. */
  get bytes(): number {
    let total = 0;
    for (const index of this.domains.values()) total += index.bytes;
    return total;
  }

  /**
   * The domain's index as of `version` (the GAL scope read for this search),
   * or undefined when SQL must answer: not built yet (a build starts), over
   * the memory bound, or too far behind.
   */
  async view(domainId: string, domain: string, version: GalVersion | undefined): Promise<IndexView | undefined> {
    if (!this.enabled || !version) return undefined;
    const index = this.domains.get(domainId);
    if (!index) {
      this.startBuild(domainId, domain);
      return undefined;
    }
    // Tombstones this index would need were pruned, or a restore moved the log: start over.
    if (version.minModseq > index.applied) {
      this.domains.delete(domainId);
      this.startBuild(domainId, domain);
      return undefined;
    }
    if (!(await this.catchUp(domainId, domain, index, version.modseq))) return undefined;
    this.answered++;
    return new IndexView(index.snapshot, index.changes);
  }

  /** Changed entries held beside the domain's snapshot (0 right after a build); undefined without an index. */
  changesHeld(domainId: string): number | undefined {
    return this.domains.get(domainId)?.changes.size;
  }

  /** Resolves when the domain's build (if one runs) has finished. */
  async settled(domainId: string): Promise<void> {
    await this.building.get(domainId);
  }

  /** Applies the changes up to `target`; false when there were too many (SQL answers, a rebuild runs). */
  private async catchUp(domainId: string, domain: string, index: DomainIndex, target: number): Promise<boolean> {
    while (index.applied < target) {
      // One catch-up at a time per domain; searches that arrive meanwhile wait for it, then check again.
      if (index.catchingUp) {
        if (!(await index.catchingUp)) return false;
        continue;
      }
      const run = this.applyChanges(domainId, domain, index, target);
      index.catchingUp = run;
      try {
        if (!(await run)) return false;
      } finally {
        index.catchingUp = undefined;
      }
    }
    return true;
  }

  private async applyChanges(domainId: string, domain: string, index: DomainIndex, target: number): Promise<boolean> {
    const { db, maxBytes } = this.deps;
    const ids = await readChangedEntryIds(db, domainId, index.applied, INDEX_MAX_CHANGES + 1);
    if (ids.length > INDEX_MAX_CHANGES || index.changes.size + ids.length > INDEX_MAX_CHANGES) {
      this.startBuild(domainId, domain);
      return false;
    }
    const rows = ids.length > 0 ? await readIndexRows(db, domainId, { ids, limit: ids.length }) : [];
    const fresh = new Map(rows.map((row) => [row.id, indexEntry(row, domain)]));
    for (const id of ids) {
      const before = index.changes.get(id);
      if (before) index.changeBytes -= entryBytes(before);
      const now = fresh.get(id) ?? null;
      if (now) index.changeBytes += entryBytes(now);
      index.changes.set(id, now);
    }
    index.applied = Math.max(index.applied, target);
    this.deps.onBytes?.(this.bytes);
    if (this.bytes > maxBytes) {
      // Over the bound after changes: give the memory back, SQL answers until a rebuild fits.
      this.domains.delete(domainId);
      this.startBuild(domainId, domain);
      return false;
    }
    if (index.changes.size > INDEX_REBUILD_AFTER) this.startBuild(domainId, domain);
    return true;
  }

  private startBuild(domainId: string, domain: string): void {
    if (this.building.has(domainId)) return;
    const refused = this.refusedAt.get(domainId);
    if (refused !== undefined && Date.now() - refused < INDEX_RETRY_MS) return;
    const run = this.build(domainId, domain)
      .catch((error: unknown) => this.deps.log.warn({ err: error, domainId }, 'LDAP index build failed; SQL answers'))
      .finally(() => {
        this.building.delete(domainId);
        this.deps.onBytes?.(this.bytes);
      });
    this.building.set(domainId, run);
  }

  /** Reads the domain's visible entries page by page and packs them; the previous index (if any) serves meanwhile. */
  private async build(domainId: string, domain: string): Promise<void> {
    const { db, maxBytes, log } = this.deps;
    // The version first: whatever changes while the pages are read is newer than it, and caught up later.
    const version = await readGalVersion(db, domainId);
    if (version === undefined) return;
    const previous = this.domains.get(domainId);
    const budget = maxBytes - (this.bytes - (previous?.bytes ?? 0));
    const entries: IndexedEntry[] = [];
    let bytes = 0;
    let after: string | undefined;
    for (;;) {
      const rows = await readIndexRows(db, domainId, { after, limit: BUILD_PAGE });
      for (const row of rows) {
        const entry = indexEntry(row, domain);
        bytes += entryBytes(entry);
        entries.push(entry);
      }
      if (bytes > budget) {
        this.refusedAt.set(domainId, Date.now());
        this.domains.delete(domainId);
        log.warn({ domainId, budgetBytes: budget, entries: entries.length }, 'LDAP index: the domain does not fit in DMCI_LDAP_INDEX_MAX_MB; SQL answers its searches');
        return;
      }
      if (rows.length < BUILD_PAGE) break;
      after = rows[rows.length - 1]!.id;
    }
    const snapshot = await Snapshot.build(entries);
    this.refusedAt.delete(domainId);
    this.domains.set(domainId, new DomainIndex(snapshot, version.modseq));
    log.info({ domainId, entries: snapshot.count, bytes: snapshot.bytes }, 'LDAP index built');
  }
}
