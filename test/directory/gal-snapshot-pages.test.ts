import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeValue, type DirectoryEntry } from '../../protocol/index.ts';
import { GalSnapshotPages, type SnapshotKey, type SnapshotPage } from '../../server/directory/gal-snapshot-pages.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Full-sync pages of the GAL shared by a domain's readers and read ahead
 * (server/directory/gal-snapshot-pages.ts): the cache keeps its bounds, and a
 * connector whose next pages were read before the GAL changed still ends
 * with exactly the GAL.
 */
const key = (afterId: string | null, pinned = 10): SnapshotKey => ({ domainId: 'd', pinned, after: afterId === null ? null : { modseq: 1, id: afterId }, limit: 3 });
/** A page of the first `fitted` of `ids` (the next one, if any, stands for "there is more"), estimated at `bytes`. */
function page(ids: string[], bytes = 100, fitted = ids.length - 1): SnapshotPage {
  const place = (id: string) => ({ modseq: 1, id });
  return { rows: ids.slice(0, fitted).map(place), next: ids[fitted] === undefined ? null : place(ids[fitted]!), columns: encodeValue({ count: 0, columns: {} }), bytes };
}

describe('GalSnapshotPages', () => {
  it('reads a page once for every reader asking at the same time, and again after it expires', async () => {
    let now = 0;
    const pages = new GalSnapshotPages({ maxBytes: 10_000, ttlMs: 1000, maxReadAheads: 0, clock: () => now });
    let reads = 0;
    const read = async () => (reads++, page(['a', 'b', 'c']));
    const answers = await Promise.all(Array.from({ length: 5 }, () => pages.page(key(null), read)));
    expect(reads).toBe(1);
    expect(new Set(answers).size).toBe(1);
    now = 999;
    await pages.page(key(null), read);
    expect(reads).toBe(1);
    now = 1000;
    await pages.page(key(null), read);
    expect(reads).toBe(2);
  });

  it('keeps at most maxBytes, dropping the least recently used first', async () => {
    const pages = new GalSnapshotPages({ maxBytes: 250, ttlMs: 60_000, maxReadAheads: 0 });
    const reads: string[] = [];
    const reader = (id: string) => async () => (reads.push(id), page([id, `${id}+`], 100));
    await pages.page(key('a'), reader('a'));
    await pages.page(key('b'), reader('b'));
    await pages.page(key('a'), reader('a')); // a is now the most recent
    await pages.page(key('c'), reader('c')); // 300 bytes: b goes
    expect(pages.size).toEqual({ pages: 2, bytes: 200 });
    await pages.page(key('a'), reader('a'));
    await pages.page(key('b'), reader('b'));
    expect(reads).toEqual(['a', 'b', 'c', 'b']);
  });

  it('never holds a failed read; reads ahead within its slots and never past the last page', async () => {
    const pages = new GalSnapshotPages({ maxBytes: 10_000, ttlMs: 60_000, maxReadAheads: 1 });
    await expect(pages.page(key(null), () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(pages.size.pages).toBe(0);

    const first = page(['a', 'b', 'c']);
    let release!: () => void;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const asked: Array<string | null> = [];
    pages.readAhead(key(null), first, async (next) => (asked.push(next.after?.id ?? null), await slow, page(['c', 'd'], 100, 2)));
    // The only slot is busy: a second read-ahead is not started.
    pages.readAhead(key('x'), page(['x', 'y', 'z']), async (next) => (asked.push(next.after?.id ?? null), page([])));
    expect(asked).toEqual(['b']);
    let reads = 0;
    const waiting = pages.page(key('b'), async () => (reads++, page([])));
    release();
    expect((await waiting).rows.map((r) => r.id)).toEqual(['c', 'd']);
    expect(reads).toBe(0);
    // A last page (no row past it) has nothing to read ahead.
    pages.readAhead(key('b'), page(['c', 'd'], 100, 2), async (next) => (asked.push(next.after?.id ?? null), page([])));
    expect(asked).toEqual(['b']);
  });
});

describe('GalSnapshotPages read ahead', () => {
  it('reads readAheadPages pages past the one asked for, one after the other, and goes on from pages it holds', async () => {
    const pages = new GalSnapshotPages({ maxBytes: 10_000, ttlMs: 60_000, maxReadAheads: 2, readAheadPages: 2 });
    const book: Record<string, string[]> = { b: ['c', 'd', 'e'], d: ['e', 'f', 'g'], f: ['g', 'h', 'i'], h: ['i'] };
    const asked: Array<string | null> = [];
    const read = async (next: SnapshotKey) => (asked.push(next.after?.id ?? null), page(book[next.after!.id]!));
    const settle = () => new Promise((resolve) => setTimeout(resolve, 20));
    pages.readAhead(key(null), page(['a', 'b', 'c']), read);
    await settle();
    expect(asked).toEqual(['b', 'd']);
    // The client asks for the page after b (held): reading goes on two past it, reading only what is not held.
    pages.readAhead(key('b'), await pages.page(key('b'), () => Promise.reject(new Error('held'))), read);
    await settle();
    expect(asked).toEqual(['b', 'd', 'f']);
  });
});

describe('a full sync whose next pages were read ahead, while the GAL changes', () => {
  let server: TestServer;
  const ENTRIES = 300;
  beforeAll(async () => {
    server = await startTestServer();
    await server.createAccount('admin@snap.test', undefined, 'global_admin');
    const rows = Array.from({ length: ENTRIES }, (_, n) => `c${n}@snap.test,Contact ${n}`);
    await importDirectory(server.app.db, `email,displayName\n${rows.join('\n')}\n`, { format: 'csv', publish: () => undefined });
  }, 120_000);
  afterAll(() => server.stop());

  it('ends with exactly the GAL: entries changed, hidden and deleted after their page was read are delivered by the log', async () => {
    const admin = await server.connect('admin@snap.test');
    const reader = await server.connect('admin@snap.test');
    const replica = new Map<string, DirectoryEntry>();
    const apply = (p: { created: DirectoryEntry[]; updated: DirectoryEntry[]; destroyed: string[] }) => {
      for (const e of [...p.created, ...p.updated]) replica.set(e.id, e);
      for (const id of p.destroyed) replica.delete(id);
    };
    let current = await reader.request('Directory/changes', { maxChanges: 40 });
    apply(current);
    // Let the read-ahead of page 2 finish, then change entries that pages 2 and 3 hold.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = (await admin.request('Admin/directoryList', { domain: 'snap.test', limit: 1000 })).entries.filter((e) => !e.isAccount).map((e) => e.id).sort();
    const notYetSent = all.filter((id) => !replica.has(id));
    const [renamed, hidden, deleted] = [notYetSent[0]!, notYetSent[1]!, notYetSent[45]!];
    await admin.request('Admin/directoryUpdate', { id: renamed, fields: { displayName: 'Renamed mid-sync' } });
    await admin.request('Admin/directoryHide', { id: hidden });
    await admin.request('Admin/directoryDelete', { id: deleted });
    while (current.hasMoreChanges) {
      current = await reader.request('Directory/changes', { sinceState: current.newState, maxChanges: 40 });
      apply(current);
    }

    const fresh = new Map<string, DirectoryEntry>();
    let again = await reader.request('Directory/changes', { maxChanges: 5000 });
    for (;;) {
      for (const e of again.created) fresh.set(e.id, e);
      if (!again.hasMoreChanges) break;
      again = await reader.request('Directory/changes', { sinceState: again.newState, maxChanges: 5000 });
    }
    expect(replica.get(renamed)?.displayName).toBe('Renamed mid-sync');
    expect(replica.has(hidden)).toBe(false);
    expect(replica.has(deleted)).toBe(false);
    expect([...replica.keys()].sort()).toEqual([...fresh.keys()].sort());
    for (const [id, entry] of fresh) expect(replica.get(id)).toEqual(entry);
  });
});
