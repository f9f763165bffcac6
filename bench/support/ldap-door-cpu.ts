import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'kysely';
import ldap from 'ldapjs';
import { startApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { createDatabase } from '../../server/db/database.ts';
import { PREPARED_STATEMENTS } from '../../server/db/prepared-statements.ts';
import { createLogger } from '../../server/log/logger.ts';
import { anrFilter, anrStatement, countEntries, OTHER_FILTERS, seedBenchGal } from '../ldap.ts';
import { BENCH_PASSWORD, prepareDatabase } from './cluster-setup.ts';
import { freePort } from './database.ts';
import { keptBenchDatabase } from './kept-database.ts';

/**
 * CPU per LDAP search, measured in one process (what a shared machine's load
 * does not change much): `node --import tsx bench/support/ldap-door-cpu.ts DIR
 * [entries] [searches]`. Seeds a kept database in DIR once (bench/ldap.ts's
 * GAL), then runs the bench's ANR and "other" filters N times each through a
 * node started in this process, with an ldapjs client, and reports
 * process.cpuUsage per search (client and server together) beside the same
 * count of the bare SQL statement, and the kept cluster's PostgreSQL
 * processes' CPU per search (from /proc). Add `--cpu-prof` to node for a
 * profile.
 */
const DOMAIN = 'bench.example';
const LETTERS = 'abcdefghijklmnop';

const [dir = '/tmp/dmci-ldap-cpu', entriesArg = '100000', searchesArg = '2000'] = process.argv.slice(2);
const kept = await keptBenchDatabase(dir);
const { db } = createDatabase({ url: kept.url, poolSize: 4, applicationName: 'dmci-ldap-cpu', prepared: PREPARED_STATEMENTS });
const migrated = (await sql<{ t: string | null }>`select to_regclass('public.domains')::text as t`.execute(db)).rows[0]!.t !== null;
let domainId: string;
const existing = migrated ? (await sql<{ id: string }>`select id from domains where name = ${DOMAIN}`.execute(db)).rows[0] : undefined;
if (existing && (await sql<{ n: string }>`select count(*) as n from directory_entries where domain_id = ${existing.id}`.execute(db)).rows[0]!.n !== '0') {
  domainId = existing.id;
} else {
  await prepareDatabase(kept.url);
  const t = performance.now();
  domainId = await seedBenchGal(db, DOMAIN, Number(entriesArg));
  console.log(`seeded ${entriesArg} entries in ${((performance.now() - t) / 1000).toFixed(1)} s`);
}

const searches = Number(searchesArg);
const ldapPort = await freePort();
const config = loadConfig({
  DATABASE_URL: kept.url,
  DMCI_PORT: '0',
  DMCI_OPS_PORT: '0',
  DMCI_CONSOLE_PORT: '0',
  DMCI_LDAP_PORT: String(ldapPort),
  DMCI_HOST: '127.0.0.1',
  DMCI_LOG_LEVEL: 'warn',
  DMCI_ARGON2_MEMORY_KIB: '1024',
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('DMCI_'))),
});
const app = await startApp({ config, log: createLogger('warn'), databaseUrl: kept.url });
const client = ldap.createClient({ url: `ldap://127.0.0.1:${ldapPort}`, timeout: 30_000 });
client.on('error', () => {});
await new Promise<void>((resolve, reject) => client.bind('admin@bench.example', BENCH_PASSWORD, (error) => (error ? reject(error) : resolve())));

let prefixIndex = 0;
const nextPrefix = () => {
  const k = prefixIndex++ % (LETTERS.length * LETTERS.length);
  return LETTERS[Math.floor(k / LETTERS.length)]! + LETTERS[k % LETTERS.length]!;
};
const anr = anrFilter;
const others = OTHER_FILTERS;
const search = (filter: string) => countEntries(client, filter);
const bareSql = (prefix: string) => anrStatement(db, domainId, prefix);

const ticksPerSecond = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());
/** CPU used so far by the kept cluster's postmaster and its children (backends), in ms. */
function postgresCpuMs(): number {
  const postmaster = readFileSync(join(dir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]!.trim();
  let ticks = 0;
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // Fields after the parenthesised command: state ppid … utime (14th) stime (15th).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (pid === postmaster || fields[1] === postmaster) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return (ticks / ticksPerSecond) * 1000;
}

async function measure(name: string, n: number, run: (k: number) => Promise<number>): Promise<void> {
  for (let k = 0; k < Math.min(200, n); k++) await run(k);
  const cpu = process.cpuUsage();
  const pgBefore = postgresCpuMs();
  const t = performance.now();
  let returned = 0;
  for (let k = 0; k < n; k++) returned += await run(k);
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - t;
  const pg = postgresCpuMs() - pgBefore;
  console.log(
    `${name.padEnd(48)} cpu/search ${((used.user + used.system) / 1000 / n).toFixed(3)} ms (user ${(used.user / 1000 / n).toFixed(3)}, sys ${(used.system / 1000 / n).toFixed(3)}), postgres ${(pg / n).toFixed(3)} ms, wall/search ${(wall / n).toFixed(2)} ms, entries/search ${(returned / n).toFixed(1)}`,
  );
}

// The first search of the domain starts the door's index build (SQL answers meanwhile): measure once it is ready.
const buildStarted = performance.now();
await search(anr('aa'));
await app.ldapIndex.settled(domainId);
console.log(`index ready after ${((performance.now() - buildStarted) / 1000).toFixed(1)} s, ${(app.ldapIndex.bytes / 1024 / 1024).toFixed(1)} MiB`);

const only = process.env.LDAP_CPU_ONLY;
if (!only || only === 'sql') await measure('sql statement', searches, () => bareSql(nextPrefix()));
if (!only || only === 'anr') await measure('ldap anr', searches, () => search(anr(nextPrefix())));
if (!only || only === 'other') await measure('ldap other filters', Math.ceil(searches / 10), (k) => search(others[k % others.length]!(nextPrefix())));
// Each "other" filter on its own (their costs differ by an order of magnitude).
if (!only || only === 'others') {
  for (const other of others) await measure(`other ${other('XY')}`, Math.ceil(searches / 10), () => search(other(nextPrefix())));
}

await new Promise<void>((resolve) => client.unbind(() => resolve()));
await app.stop();
await db.destroy();
