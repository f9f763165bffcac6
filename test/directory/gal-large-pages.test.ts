import { afterAll, beforeAll, expect, it } from 'vitest';
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
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@big.test', undefined, 'global_admin');
  const rows = Array.from({ length: ENTRIES }, (_, n) => `person${n}@big.test,Person Number ${n},Department ${n % 40}`);
  const report = await importDirectory(server.app.db, `email,displayName,department\n${rows.join('\n')}\n`, { format: 'csv', publish: () => undefined });
  expect(report.created).toBe(ENTRIES);
}, 120_000);
afterAll(() => server.stop());

it('answers every page of an initial sync with the largest page size', async () => {
  const client = await server.connect('admin@big.test', undefined, { requestTimeoutMs: 30_000 });
  const replica = new Set<string>();
  let page = await client.request('Directory/changes', { maxChanges: 5000 });
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
