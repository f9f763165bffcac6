import { systemActor } from '../server/accounts/actor.ts';
import { withServices } from '../server/cli/cli-context.ts';
import { loadConfig } from '../server/config/config.ts';
import { createLogger } from '../server/log/logger.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { BenchChild } from './support/child.ts';
import { benchDatabase } from './support/database.ts';
import { percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- connections [steps]`: memory per authenticated idle
 * session on one dmci node, against a bare ws server holding the same number
 * of sockets in the same run. Servers and load generators run in separate
 * processes; memory is read in the server process after a full GC.
 *
 * Steps default to 1k, 5k, 10k and 19.5k: this machine's hard open-file limit
 * is 20,000 per process (not raisable without CAP_SYS_RESOURCE), so a single
 * process cannot hold 20,000 sockets plus its listeners and database pool.
 * Passwords use argon2id at the minimum configurable memory
 * (DMCI_ARGON2_MEMORY_KIB=1024) so that 20,000 logins finish in seconds; the
 * hashing cost does not change per-session memory.
 */
const SOCKETS_PER_WORKER = 5000;
const SOURCE_ADDRESSES = Array.from({ length: 20 }, (_, i) => `127.0.0.${i + 1}`);
const SESSIONS_PER_USER = 100;

interface Memory {
  heapUsed: number;
  rss: number;
}

export async function run(args: string[]): Promise<object> {
  const steps = args.length > 0 ? args.map(Number) : [1000, 5000, 10000, 19500];
  const max = Math.max(...steps);
  const database = await benchDatabase();
  try {
    const users = await createUsers(database.url, Math.ceil(max / SESSIONS_PER_USER));
    const bare = await measureServer('bare', steps, users);
    const dmci = await measureServer('dmci', steps, users, database.url);
    return {
      target: '20,000 authenticated idle sessions, memory per session ≤ 2× the bare ws figure',
      note: 'per-session figures = (memory at N − memory with 0 sockets) / N, after a full GC in the server process',
      steps: steps.map((n, i) => ({
        sessions: n,
        dmci: dmci.steps[i],
        bareWs: bare.steps[i],
        heapRatio: round(dmci.steps[i]!.heapPerSessionKiB / bare.steps[i]!.heapPerSessionKiB, 2),
        rssRatio: round(dmci.steps[i]!.rssPerSessionKiB / bare.steps[i]!.rssPerSessionKiB, 2),
      })),
      dmciLatencyMs: dmci.latency,
      bareLatencyMs: bare.latency,
      baseline: 'a bare ws server (same ws options) holding the same number of sockets, each of which sent the same hello frame and got it echoed',
    };
  } finally {
    await database.release();
  }
}

async function createUsers(url: string, count: number): Promise<Array<{ login: string; password: string }>> {
  const users = Array.from({ length: count }, (_, i) => ({ login: `user${i}@bench.example`, password: BENCH_PASSWORD }));
  await prepareDatabase(url);
  await withServices(loadConfig({ DATABASE_URL: url, DMCI_ARGON2_MEMORY_KIB: '1024' }), createLogger('warn'), async ({ accounts }) => {
    for (const user of users) await accounts.create(systemActor, { email: user.login, displayName: user.login, password: BENCH_PASSWORD, role: 'user' });
  });
  return users;
}

async function measureServer(kind: 'dmci' | 'bare', steps: number[], users: Array<{ login: string; password: string }>, databaseUrl?: string) {
  const { server, url } =
    kind === 'bare'
      ? await BenchChild.start('./bare-ws-server.ts').then(({ child, ready }) => ({ server: child, url: `ws://127.0.0.1:${ready.port as number}` }))
      : await startBenchServer(databaseUrl!, { DMCI_MAX_SESSIONS_PER_USER: String(SESSIONS_PER_USER) });
  const workers: BenchChild[] = [];
  const connectMs: number[] = [];
  const authMs: number[] = [];
  const results: Array<{ heapPerSessionKiB: number; rssPerSessionKiB: number; heapMiB: number; rssMiB: number; failed: number }> = [];
  try {
    const base = await server.ask<Memory>('measure');
    let open = 0;
    let failed = 0;
    for (const target of steps) {
      while (open < target) {
        let worker = workers.find((w) => (w as BenchChild & { held?: number }).held! < SOCKETS_PER_WORKER);
        if (!worker) {
          worker = (await BenchChild.start('./client-worker.ts')).child;
          (worker as BenchChild & { held?: number }).held = 0;
          workers.push(worker);
        }
        const held = (worker as BenchChild & { held?: number }).held!;
        const count = Math.min(target - open, SOCKETS_PER_WORKER - held);
        const reply = await worker.ask<{ opened: number; failed: number; firstErrors: string[]; connectMs: number[]; authMs: number[] }>('open', {
          kind,
          url,
          count,
          addresses: SOURCE_ADDRESSES,
          credentials: users,
          concurrency: 16,
          credentialOffset: open,
        });
        if (reply.failed > 0) process.stderr.write(`${kind}: ${reply.failed} connections failed, e.g. ${reply.firstErrors.join('; ')}\n`);
        (worker as BenchChild & { held?: number }).held = held + count;
        open += count;
        failed += reply.failed;
        connectMs.push(...reply.connectMs);
        authMs.push(...reply.authMs);
      }
      const memory = await server.ask<Memory & { open: number }>('measure');
      const sessions = memory.open;
      results.push({
        heapPerSessionKiB: round((memory.heapUsed - base.heapUsed) / sessions / 1024, 2),
        rssPerSessionKiB: round((memory.rss - base.rss) / sessions / 1024, 2),
        heapMiB: round(memory.heapUsed / 2 ** 20, 1),
        rssMiB: round(memory.rss / 2 ** 20, 1),
        failed,
      });
      process.stderr.write(`${kind}: ${sessions} sockets held, heap ${results.at(-1)!.heapMiB} MiB, rss ${results.at(-1)!.rssMiB} MiB\n`);
    }
  } finally {
    for (const worker of workers) await worker.stop();
    await server.stop();
  }
  return { steps: results, latency: { connect: percentiles(connectMs), firstReply: percentiles(authMs) } };
}
