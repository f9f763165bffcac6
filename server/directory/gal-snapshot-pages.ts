import type { DirectoryEntryColumns, Encoded } from '../../protocol/index.ts';
import type { LivePosition } from './directory.repository.ts';

/**
 * Pages of GAL full syncs, shared by every reader of a domain and read ahead.
 *
 * A full sync walks the domain's live entries in (modseq, id) order as of a
 * pinned modseq (sync/change-log.ts). Its page for a cursor (pinned, after, size) is the
 * same for every reader of the domain (the GAL has one view), and any answer
 * computed at or after `pinned` is a correct one: an entry changed or removed
 * since comes again in the log the client reads from `pinned` afterwards. So
 * pages can be computed once and served to many readers (a morning when
 * thousands of connectors sync from scratch costs one read per page, as an
 * offline address book does), and the next page can be read while the client
 * is still receiving this one.
 *
 * Bounded: at most `maxBytes` of pages (their encoded bytes), each kept `ttlMs`; least
 * recently used go first; at most `maxReadAheads` read-aheads run at once,
 * at most `readAheadPages` past the page a client asked for.
 * Nothing here changes what a client receives, only when it is read.
 */
export interface SnapshotPage {
  /** The page's entries, in order. */
  rows: readonly LivePosition[];
  /** The first live entry after the page; null when the page is the last. */
  next: LivePosition | null;
  /** The page's entries by column, encoded as they travel. */
  columns: Encoded<DirectoryEntryColumns>;
  /** Memory the page holds (its encoded columns). */
  bytes: number;
}

export interface SnapshotKey {
  domainId: string;
  pinned: number;
  after: LivePosition | null;
  limit: number;
}

export interface GalSnapshotPagesOptions {
  maxBytes: number;
  ttlMs: number;
  maxReadAheads: number;
  /** How many pages past the one asked for are read ahead (1 when not given). */
  readAheadPages?: number;
  clock?: () => number;
}

interface Held {
  page: Promise<SnapshotPage>;
  bytes: number;
  expires: number;
}

export class GalSnapshotPages {
  /** Map order is recency: a hit moves its page to the end, eviction takes from the front. */
  private readonly held = new Map<string, Held>();
  private used = 0;
  private readAheads = 0;
  private readonly clock: () => number;

  constructor(private readonly options: GalSnapshotPagesOptions) {
    this.clock = options.clock ?? Date.now;
  }

  /** The page for `key`: held, being read (the caller waits for that read), or read now by `read`. */
  async page(key: SnapshotKey, read: () => Promise<SnapshotPage>): Promise<SnapshotPage> {
    const id = keyOf(key);
    const now = this.clock();
    const found = this.held.get(id);
    if (found && found.expires > now) {
      this.held.delete(id);
      this.held.set(id, found);
      return found.page;
    }
    if (found) this.forget(id);
    return this.hold(id, read());
  }

  /**
   * Reads the `pages` pages after `page` in the background, one after the
   * other, each when it is not held, a read-ahead slot is free and the pages
   * held leave room for it: while the server renders one page, PostgreSQL
   * reads the next. A failure only drops the page: the client's own request
   * reads it again.
   */
  readAhead(key: SnapshotKey, page: SnapshotPage, read: (next: SnapshotKey) => Promise<SnapshotPage>, pages = this.options.readAheadPages ?? 1): void {
    const last = page.rows.at(-1);
    if (pages <= 0 || page.next === null || last === undefined) return; // the last page
    const next = { ...key, after: last };
    const id = keyOf(next);
    const onward = (held: SnapshotPage) => this.readAhead(next, held, read, pages - 1);
    const held = this.held.get(id);
    if (held) {
      held.page.then(onward, () => undefined);
      return;
    }
    if (this.readAheads >= this.options.maxReadAheads || this.used + page.bytes > this.options.maxBytes) return;
    this.readAheads++;
    const reading = read(next).finally(() => this.readAheads--);
    this.hold(id, reading).then(onward, () => undefined);
  }

  /** Pages held and their estimated bytes (metrics, tests). */
  get size(): { pages: number; bytes: number } {
    return { pages: this.held.size, bytes: this.used };
  }

  private hold(id: string, reading: Promise<SnapshotPage>): Promise<SnapshotPage> {
    const entry: Held = { page: reading, bytes: 0, expires: Number.POSITIVE_INFINITY };
    this.held.set(id, entry);
    reading.then(
      (page) => {
        if (this.held.get(id) !== entry) return;
        entry.bytes = page.bytes;
        entry.expires = this.clock() + this.options.ttlMs;
        this.used += page.bytes;
        this.evict();
      },
      () => {
        if (this.held.get(id) === entry) this.held.delete(id);
      },
    );
    return reading;
  }

  private evict(): void {
    const now = this.clock();
    for (const [id, entry] of this.held) {
      if (this.used <= this.options.maxBytes && entry.expires > now) break;
      if (entry.expires !== Number.POSITIVE_INFINITY) this.forget(id);
    }
    // Expired pages behind recently used ones: dropped on the next look-up or here.
    for (const [id, entry] of this.held) if (entry.expires <= now) this.forget(id);
  }

  private forget(id: string): void {
    const entry = this.held.get(id);
    if (!entry) return;
    this.held.delete(id);
    this.used -= entry.bytes;
  }
}

/** How long a page is kept: long enough for every connector of a sync wave that started together. */
export const SNAPSHOT_PAGE_TTL_MS = 60_000;
/** Read-aheads at once: each holds a database connection while it reads. */
export const SNAPSHOT_READ_AHEADS = 2;
/** Pages read ahead of the one a client asked for: the next, and the one after it while the next is rendered. */
export const SNAPSHOT_READ_AHEAD_PAGES = 2;

/** The pages a server keeps with `maxBytes` of memory (0: none, every page is read for its request). */
export function galSnapshotPages(maxBytes: number): GalSnapshotPages | undefined {
  return maxBytes > 0 ? new GalSnapshotPages({ maxBytes, ttlMs: SNAPSHOT_PAGE_TTL_MS, maxReadAheads: SNAPSHOT_READ_AHEADS, readAheadPages: SNAPSHOT_READ_AHEAD_PAGES }) : undefined;
}

function keyOf(key: SnapshotKey): string {
  return `${key.domainId}|${key.pinned}|${key.after ? `${key.after.modseq}/${key.after.id}` : ''}|${key.limit}`;
}
