import { sql } from 'kysely';
import ldap from 'ldapjs';
import { createDatabase } from '../server/db/database.ts';
import { filterToSql } from '../server/ldap/ldap-filter-sql.ts';
import type { FilterNode } from '../server/ldap/ldap-filter.ts';
import { galQuery } from '../server/ldap/ldap-search.repository.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase, freePort } from './support/database.ts';
import { percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- ldap [entries]`: the LDAP half of issue 4's `gal`
 * benchmark. On a generated 100,000-entry GAL, the prefix search Outlook
 * sends while you type a name, `(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))`
 * with a size limit of 50, over LDAP against a dmci node in a child process:
 * latency (sequential, one client) and throughput (CLIENTS clients at once).
 * Baseline in the same run: the same SQL statement the door runs, sent
 * straight to PostgreSQL through a pool, sequentially and CLIENTS at once.
 */
const ENTRIES = 100_000;
const WARMUP = 100;
const SEQUENTIAL = 1000;
const CLIENTS = 4;
const CONCURRENT_PER_CLIENT = 500;
const SIZE_LIMIT = 50;
const DOMAIN = 'bench.example';
const BASE = 'ou=gal,dc=bench,dc=example';
/** Names are drawn from the letters a..p, so a two-letter prefix matches about 1/256 of each name field. */
const LETTERS = 'abcdefghijklmnop';

export async function run(args: string[]): Promise<object> {
  const entries = Number(args[0] ?? ENTRIES);
  const database = await benchDatabase();
  await prepareDatabase(database.url);
  const { db } = createDatabase({ url: database.url, poolSize: CLIENTS, applicationName: 'dmci-bench' });
  const ldapPort = await freePort();
  let server: Awaited<ReturnType<typeof startBenchServer>>['server'] | undefined;
  const clients: ldap.Client[] = [];
  try {
    const generationStarted = performance.now();
    const domainId = (await sql<{ id: string }>`select id from domains where name = ${DOMAIN}`.execute(db)).rows[0]!.id;
    // One INSERT … SELECT generate_series: letters from md5 so names are spread evenly and reproducibly.
    await sql`
      insert into directory_entries (domain_id, kind, email, display_name, given_name, surname, title, department, modseq, created_modseq)
      select ${domainId}, 'person', g || '.' || s || '.' || n || '@bench.example', initcap(g) || ' ' || initcap(s), initcap(g), initcap(s),
        'Title ' || (n % 50), 'Dept ' || (n % 40), 1, 1
      from (
        select n,
          translate(substr(md5('g' || n), 1, 7), '0123456789abcdef', ${LETTERS}) as g,
          translate(substr(md5('s' || n), 1, 9), '0123456789abcdef', ${LETTERS}) as s
        from generate_series(1, ${entries}) n
      ) names`.execute(db);
    await sql`analyze directory_entries`.execute(db);
    const generationSeconds = (performance.now() - generationStarted) / 1000;

    const started = await startBenchServer(database.url, { DMCI_LDAP_PORT: String(ldapPort) });
    server = started.server;
    for (let k = 0; k < CLIENTS; k++) {
      const client = ldap.createClient({ url: `ldap://127.0.0.1:${ldapPort}`, timeout: 30_000 });
      client.on('error', () => {});
      await new Promise<void>((resolve, reject) => client.bind('admin@bench.example', BENCH_PASSWORD, (error) => (error ? reject(error) : resolve())));
      clients.push(client);
    }

    let prefixIndex = 0;
    const nextPrefix = () => {
      const k = prefixIndex++ % (LETTERS.length * LETTERS.length);
      return LETTERS[Math.floor(k / LETTERS.length)]! + LETTERS[k % LETTERS.length]!;
    };
    const ldapSearch = (client: ldap.Client, prefix: string) =>
      new Promise<number>((resolve, reject) => {
        let count = 0;
        client.search(
          BASE,
          { scope: 'sub', filter: `(|(cn=${prefix}*)(mail=${prefix}*)(sn=${prefix}*)(givenName=${prefix}*))`, sizeLimit: SIZE_LIMIT, attributes: ['cn', 'mail', 'sn', 'givenName', 'title', 'department'] },
          (error, res) => {
            if (error) return reject(error);
            res.on('searchEntry', () => count++);
            res.on('end', () => resolve(count));
            // sizeLimitExceeded (4) is the normal outcome: more than 50 match, and the first 50 arrived.
            res.on('error', (err: { code?: number }) => (err.code === 4 ? resolve(count) : reject(err as Error)));
          },
        );
      });
    const sqlSearch = async (prefix: string) => {
      const filter: FilterNode = { type: 'or', children: ['cn', 'mail', 'sn', 'givenName'].map((attribute) => ({ type: 'substrings', attribute, initial: prefix, any: [] })) };
      const query = galQuery({ domainId, where: filterToSql(filter, { domainId, domain: DOMAIN }), limit: SIZE_LIMIT + 1, needs: { aliases: false, members: false, photo: false } });
      return (await query.execute(db)).rows.length;
    };

    const sequential = async (search: (prefix: string) => Promise<number>) => {
      for (let k = 0; k < WARMUP; k++) await search(nextPrefix());
      const latencies: number[] = [];
      let returned = 0;
      for (let k = 0; k < SEQUENTIAL; k++) {
        const t = performance.now();
        returned += await search(nextPrefix());
        latencies.push(performance.now() - t);
      }
      return { latencyMs: percentiles(latencies, [50, 90, 99]), meanEntriesPerSearch: round(returned / SEQUENTIAL, 1) };
    };
    const concurrent = async (search: (worker: number, prefix: string) => Promise<number>) => {
      const t = performance.now();
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, worker) => {
          for (let k = 0; k < CONCURRENT_PER_CLIENT; k++) await search(worker, nextPrefix());
        }),
      );
      return round((CLIENTS * CONCURRENT_PER_CLIENT) / ((performance.now() - t) / 1000), 0);
    };

    const ldapSequential = await sequential((prefix) => ldapSearch(clients[0]!, prefix));
    const sqlSequential = await sequential(sqlSearch);
    const ldapPerSecond = await concurrent((worker, prefix) => ldapSearch(clients[worker]!, prefix));
    const sqlPerSecond = await concurrent((_worker, prefix) => sqlSearch(prefix));

    return {
      entries,
      generationSeconds: round(generationSeconds, 1),
      filter: '(|(cn=XY*)(mail=XY*)(sn=XY*)(givenName=XY*)), XY cycling through 256 two-letter prefixes',
      sizeLimit: SIZE_LIMIT,
      ldap: { sequential: ldapSequential, searchesPerSecond: ldapPerSecond, clients: CLIENTS },
      baselineSql: { sequential: sqlSequential, searchesPerSecond: sqlPerSecond, connections: CLIENTS },
      ratios: {
        p50LatencyLdapOverSql: round(ldapSequential.latencyMs.p50! / sqlSequential.latencyMs.p50!, 2),
        throughputLdapOverSql: round(ldapPerSecond / sqlPerSecond, 2),
      },
      notes:
        'LDAP latency includes the ldapjs client (encoding the request, parsing 50 entries) in the benchmark process, the server process (request parsing, filter to SQL, the same statement, entry encoding) and the hops between them; the baseline is the statement alone from the benchmark process. The machine is 2 shared cores: compare the same-run ratios, not absolute times.',
    };
  } finally {
    await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.unbind(() => resolve()))));
    await server?.stop();
    await db.destroy();
    await database.release();
  }
}
