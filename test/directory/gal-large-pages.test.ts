import { afterAll, beforeAll, expect, it } from 'vitest';
import { DefaultLimits, encodeFrame, unpackChangesPage, type DirectoryChangesWire } from '../../protocol/index.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A fresh connector's initial GAL sync in the page size the protocol allows
 * at most (5,000): every page is answered, the replica ends complete, and the
 * client decodes them. (A page of 5,000 entries holds more than the 100,000
 * values the server accepts in a client's frame; the client library once
 * decoded answers with those limits and dropped the page, so the request hung.)
 */
const ENTRIES = 6000;
const LONG_TITLES = Array.from({ length: 10 }, (_, k) => `Title ${k} ${'of a very long committee name '.repeat(7)}`.trim());
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@big.test', undefined, 'global_admin');
  // Long titles shared by many (a dictionary column): as maps a page of 5,000 would pass 2 MiB, by column it is far below.
  const rows = Array.from({ length: ENTRIES }, (_, n) => `person${n}@big.test,Person Number ${n},Department ${n % 40},${LONG_TITLES[n % LONG_TITLES.length]}`);
  const report = await importDirectory(server.app.db, `email,displayName,department,title\n${rows.join('\n')}\n`, { format: 'csv', publish: () => undefined });
  expect(report.created).toBe(ENTRIES);
}, 120_000);
afterAll(() => server.stop());

it('answers every page of an initial sync with the largest page size', async () => {
  const client = await server.connect('admin@big.test', undefined, { requestTimeoutMs: 30_000 });
  const replica = new Set<string>();
  let page = await client.request('Directory/changes', { maxChanges: 5000 });
  // Fitted by the page's exact size by column, not by the entries' size as maps (~2.7 MB here).
  expect(page.created).toHaveLength(5000);
  expect(page.created.filter((e) => LONG_TITLES.includes(e.title ?? '')).length).toBeGreaterThanOrEqual(4999);
  let pages = 1;
  for (;;) {
    for (const entry of page.created) replica.add(entry.id);
    if (!page.hasMoreChanges) break;
    page = await client.request('Directory/changes', { sinceState: page.newState, maxChanges: 5000 });
    pages++;
  }
  // The imported people and the admin's own entry.
  expect(replica.size).toBe(ENTRIES + 1);
  expect(pages).toBeGreaterThanOrEqual(2);
}, 120_000);

it('ends a page early, by bytes, before it passes maxAnswerBytes (entries by column counted as maps)', async () => {
  const client = await server.connect('admin@big.test', undefined, { requestTimeoutMs: 60_000 });
  const everyone = (await client.request('Directory/changes', { maxChanges: 5000 })).created.map((e) => e.id);
  expect(everyone).toHaveLength(5000);
  // Twelve groups of 5,000 member ids each (~185 KB apiece) cannot share one 2 MiB answer.
  const groups: string[] = [];
  for (let g = 0; g < 12; g++) {
    groups.push((await client.request('Admin/directoryCreate', { domain: 'big.test', kind: 'group', fields: { displayName: `Big Group ${g}` }, memberIds: everyone })).entry.id);
  }
  const sizes: number[] = [];
  const counts: number[] = [];
  const members = new Map<string, number>();
  let state: string | undefined;
  for (;;) {
    const wire = (await client.call('Directory/changes', { maxChanges: 5000, ...(state ? { sinceState: state } : {}) })) as DirectoryChangesWire;
    sizes.push(encodeFrame({ type: 'response', id: 1, ok: true, result: wire }).byteLength);
    const page = unpackChangesPage(wire);
    counts.push(page.created.length);
    for (const entry of page.created) if (entry.kind === 'group') members.set(entry.id, entry.memberIds!.length);
    state = page.newState;
    if (!page.hasMoreChanges) break;
  }
  expect(Math.max(...sizes)).toBeLessThanOrEqual(DefaultLimits.maxAnswerBytes);
  // Some page other than the last ended before maxChanges: cut by bytes.
  expect(counts.slice(0, -1).some((n) => n < 5000)).toBe(true);
  for (const id of groups) expect(members.get(id)).toBe(5000);
}, 180_000);
