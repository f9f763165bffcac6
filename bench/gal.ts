import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DmciClient } from '../connector-sim/client.ts';
import { encodedSize, type MethodResult } from '../protocol/index.ts';
import { createDatabase } from '../server/db/database.ts';
import { PREPARED_STATEMENTS } from '../server/db/prepared-statements.ts';
import { searchEntries } from '../server/directory/directory.repository.ts';
import { importDirectory } from '../server/directory/import/importer.ts';
import { sql } from 'kysely';
import { prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase } from './support/database.ts';
import { percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- gal [entries]`: issue 4's GAL figures on a generated
 * 100,000-entry directory (the LDAP searches are in bench/ldap.ts):
 *
 * - import: the 100,000 entries as one CSV through `dmci import`'s code path
 *   (target ≤ 60 s), then the same file again (idempotent: all unchanged);
 * - Directory/query: the prefix searches a connector sends while a name is
 *   typed (two letters, limit 50) over the WebSocket against a dmci node in a
 *   child process, sequential (p50/p99) and CLIENTS at once (searches/s);
 *   baseline in the same run: the same SQL (the repository's query) sent
 *   straight to PostgreSQL;
 * - Directory/changes: a fresh connector's initial sync of the whole GAL in
 *   pages of 5000 (target ≤ 5 s, and ≤ 2× the baseline); baseline: one SQL
 *   read of the same rows. The client library unpacks each page's entry
 *   columns into entries, as a connector's replica holds them. The first run
 *   is cold; later ones at the same GAL state are served from the shared
 *   snapshot pages (what a wave of connectors syncing gets); the bytes the
 *   pages take on the wire are counted in one more, untimed, sync;
 * - a sync wave: WAVE connectors' initial syncs at once, on a fresh node
 *   without and then with the shared snapshot pages (DMCI_GAL_SNAPSHOT_BYTES).
 */
const ENTRIES = 100_000;
const WARMUP = 50;
const SEQUENTIAL = 500;
const CLIENTS = 4;
const CONCURRENT_PER_CLIENT = 250;
const LIMIT = 50;
const SYNC_RUNS = 3;
/** Connectors in the sync wave (a morning when everyone's connector starts from scratch). */
const WAVE = 8;
const DOMAIN = 'bench.example';
/** Names use the letters a..p, so a two-letter prefix matches about 1/256 of each name field. */
const LETTERS = 'abcdefghijklmnop';

function word(seed: string, length: number): string {
  const hex = createHash('md5').update(seed).digest('hex').slice(0, length);
  return [...hex].map((c) => LETTERS[parseInt(c, 16)]).join('');
}
const cap = (s: string) => s[0]!.toUpperCase() + s.slice(1);

function generateCsv(entries: number): string {
  const rows = ['email,displayName,givenName,surname,title,department'];
  for (let n = 1; n <= entries; n++) {
    const [g, s] = [word(`g${n}`, 7), word(`s${n}`, 9)];
    rows.push(`${g}.${s}.${n}@${DOMAIN},${cap(g)} ${cap(s)},${cap(g)},${cap(s)},Title ${n % 50},Dept ${n % 40}`);
  }
  return rows.join('\n') + '\n';
}

/** CPU time a process has used (user + system), from /proc; null where there is none. */
function cpuMs(pid: number | undefined): number | null {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms
  } catch {
    return null;
  }
}

export async function run(args: string[]): Promise<object> {
  const entries = Number(args[0] ?? ENTRIES);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  // Prepared statements as the server runs them, so the SQL baseline is the same statement the same way.
  const { db } = createDatabase({ url: database.url, poolSize: CLIENTS, applicationName: 'dmci-bench', prepared: PREPARED_STATEMENTS });
  let server: Awaited<ReturnType<typeof startBenchServer>>['server'] | undefined;
  const clients: DmciClient[] = [];
  try {
    // ---- import ----
    const csv = generateCsv(entries);
    let started = performance.now();
    const imported = await importDirectory(db, csv, { format: 'csv', publish: () => undefined });
    const importSeconds = (performance.now() - started) / 1000;
    if (imported.created !== entries) throw new Error(`import created ${imported.created} of ${entries}: ${JSON.stringify(imported.lines.find((l) => l.action === 'error'))}`);
    started = performance.now();
    const again = await importDirectory(db, csv, { format: 'csv', publish: () => undefined });
    const reimportSeconds = (performance.now() - started) / 1000;
    if (again.unchanged !== entries) throw new Error(`re-import changed ${entries - again.unchanged} entries`);
    // A settled GAL, as after a nightly import: what autovacuum would do after 100,000 inserts, done now rather than
    // while the searches below are timed (it had moved the query's p50 by a millisecond between runs).
    for (const table of ['directory_entries', 'directory_match_values', 'directory_anr_keys', 'directory_aliases', 'directory_members']) {
      await sql`vacuum analyze ${sql.table(table)}`.execute(db);
    }
    const domainId = (await sql<{ id: string }>`select id from domains where name = ${DOMAIN}`.execute(db)).rows[0]!.id;
    const galSize = Number((await sql<{ n: string }>`select count(*) as n from directory_entries where domain_id = ${domainId} and visible`.execute(db)).rows[0]!.n);

    // ---- Directory/query vs the same SQL ----
    const { server: child, url } = await startBenchServer(database.url);
    server = child;
    for (let k = 0; k < CLIENTS; k++) {
      const client = new DmciClient({ url, ...admin, requestTimeoutMs: 120_000 });
      await client.connect();
      clients.push(client);
    }
    let prefixIndex = 0;
    const nextPrefix = () => {
      const k = prefixIndex++ % (LETTERS.length * LETTERS.length);
      return LETTERS[Math.floor(k / LETTERS.length)]! + LETTERS[k % LETTERS.length]!;
    };
    const viaProtocol = async (client: DmciClient, prefix: string) => (await client.request('Directory/query', { text: prefix, limit: LIMIT })).entries.length;
    const viaSql = async (prefix: string) => (await searchEntries(db, { domainId, prefix, offset: 0, limit: LIMIT })).rows.length;

    // Latency, one search at a time: the protocol and the SQL take turns on the same prefix (who goes first
    // alternating), so load that comes and goes on this shared machine weighs on both alike.
    const sequential = async () => {
      const searches = [(prefix: string) => viaProtocol(clients[0]!, prefix), viaSql];
      const latencies = [[] as number[], [] as number[]];
      const hits = [0, 0];
      for (let i = 0; i < WARMUP + SEQUENTIAL; i++) {
        const prefix = nextPrefix();
        for (let j = 0; j < 2; j++) {
          const which = (i + j) % 2;
          const t = performance.now();
          const found = await searches[which]!(prefix);
          if (i < WARMUP) continue;
          latencies[which]!.push(performance.now() - t);
          hits[which]! += found;
        }
      }
      return latencies.map((l, which) => ({ latencyMs: percentiles(l, [50, 90, 99]), meanResults: round(hits[which]! / SEQUENTIAL, 1) }));
    };
    const concurrent = async (search: (prefix: string, k: number) => Promise<number>) => {
      const t = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, k) => {
          for (let i = 0; i < CONCURRENT_PER_CLIENT; i++) await search(nextPrefix(), k);
        }),
      );
      return round((CLIENTS * CONCURRENT_PER_CLIENT) / ((performance.now() - t) / 1000), 0);
    };
    const [protocolSequential, sqlSequential] = await sequential();
    const protocol = { ...protocolSequential!, searchesPerSecond: await concurrent((prefix, k) => viaProtocol(clients[k]!, prefix)) };
    const rawSql = { ...sqlSequential!, searchesPerSecond: await concurrent((prefix) => viaSql(prefix)) };

    // ---- Directory/changes initial sync vs one SQL read ----
    const syncMs: number[] = [];
    const syncServerCpuMs: (number | null)[] = [];
    const sqlMs: number[] = [];
    /** One fresh connector's whole initial sync against `at`, in ms. */
    const initialSync = async (at: string): Promise<number> => {
      const reader = new DmciClient({ url: at, ...admin, requestTimeoutMs: 300_000 });
      await reader.connect();
      const replica = new Map<string, unknown>();
      const t = performance.now();
      let page = await reader.request('Directory/changes', { maxChanges: 5000 });
      for (;;) {
        for (const entry of [...page.created, ...page.updated]) replica.set(entry.id, entry);
        for (const id of page.destroyed) replica.delete(id);
        if (!page.hasMoreChanges) break;
        page = await reader.request('Directory/changes', { sinceState: page.newState, maxChanges: 5000 });
      }
      const ms = performance.now() - t;
      if (replica.size !== galSize) throw new Error(`the initial sync brought ${replica.size} entries, the GAL has ${galSize}`);
      await reader.close();
      return ms;
    };
    /** The pages of one more initial sync as they travel (entries by column), untimed: their encoded bytes. */
    const wireBytes = async (at: string): Promise<{ pages: number; bytes: number }> => {
      const reader = new DmciClient({ url: at, ...admin, requestTimeoutMs: 300_000 });
      await reader.connect();
      let [pages, bytes, state] = [0, 0, undefined as string | undefined];
      for (;;) {
        const page = (await reader.call('Directory/changes', { maxChanges: 5000, ...(state ? { sinceState: state } : {}) })) as MethodResult<'Directory/changes'>;
        pages++;
        bytes += encodedSize(page);
        state = page.newState;
        if (!page.hasMoreChanges) break;
      }
      await reader.close();
      return { pages, bytes };
    };
    for (let r = 0; r < SYNC_RUNS; r++) {
      const cpu = cpuMs(server.process.pid);
      syncMs.push(await initialSync(url));
      const after = cpuMs(server.process.pid);
      syncServerCpuMs.push(cpu === null || after === null ? null : after - cpu);
      const s = performance.now();
      await sql`select * from directory_entries where domain_id = ${domainId} and visible order by modseq, id`.execute(db);
      sqlMs.push(performance.now() - s);
    }
    const wire = await wireBytes(url);

    // ---- a wave: WAVE connectors syncing from scratch at once, on fresh nodes with and without shared snapshot pages ----
    await server.stop();
    server = undefined;
    const wave = async (env: Record<string, string>): Promise<number> => {
      const node = await startBenchServer(database.url, env);
      try {
        const t = performance.now();
        await Promise.all(Array.from({ length: WAVE }, () => initialSync(node.url)));
        return performance.now() - t;
      } finally {
        await node.server.stop();
      }
    };
    const waveWithout = await wave({ DMCI_GAL_SNAPSHOT_BYTES: '0' });
    const waveWith = await wave({});

    return {
      entries: galSize,
      import: {
        seconds: round(importSeconds, 1),
        entriesPerSecond: round(entries / importSeconds, 0),
        targetSeconds: 60,
        reimportUnchangedSeconds: round(reimportSeconds, 1),
        batchSize: 1000,
      },
      query: {
        what: `Directory/query two-letter prefix, limit ${LIMIT}, ${SEQUENTIAL} sequential + ${CLIENTS}×${CONCURRENT_PER_CLIENT} concurrent`,
        protocol,
        rawSql,
        p50Ratio: round(protocol.latencyMs.p50! / rawSql.latencyMs.p50!, 2),
        throughputRatio: round(protocol.searchesPerSecond / rawSql.searchesPerSecond, 2),
      },
      initialSync: {
        what: 'Directory/changes from nothing, pages of 5000, into a replica; the first run reads every page (cold), later runs at the same GAL state find them among the shared snapshot pages (warm)',
        ms: { cold: round(syncMs[0]!, 0), warm: round(Math.min(...syncMs.slice(1)), 0), runs: syncMs.map((v) => round(v, 0)) },
        targetMs: 5000,
        rawSqlMs: { min: round(Math.min(...sqlMs), 0), runs: sqlMs.map((v) => round(v, 0)) },
        ratio: round(syncMs[0]! / Math.min(...sqlMs), 2),
        warmRatio: round(Math.min(...syncMs.slice(1)) / Math.min(...sqlMs), 2),
        wire: { pages: wire.pages, bytes: wire.bytes, bytesPerEntry: round(wire.bytes / galSize, 0) },
        serverCpuMs: { what: "the node's CPU time (user + system) over each sync, as the load of the machine leaves it", runs: syncServerCpuMs },
      },
      syncWave: {
        what: `${WAVE} connectors' initial syncs at once on a fresh node, until the last one is complete`,
        withoutSnapshotPagesMs: round(waveWithout, 0),
        withSnapshotPagesMs: round(waveWith, 0),
        ratio: round(waveWith / waveWithout, 2),
      },
    };
  } finally {
    for (const client of clients) await client.close().catch(() => {});
    await server?.stop();
    await db.destroy();
    await database.release();
  }
}
