import { Command } from 'commander';
import pg from 'pg';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openEmbeddedPostgres } from '../../server/db/embedded-postgres.ts';
import { migrateToLatest } from '../../server/db/migrate.ts';
import { createDatabase } from '../../server/db/database.ts';
import { createLogger } from '../../server/log/logger.ts';
import { freePort } from '../helpers/ports.ts';
import { runTorture } from './torture.ts';

/**
 * `npm run torture -- [--connectors 20] [--nodes 3] [--duration 300] [--fault-every 5]`:
 * the long form of the torture test. Prints ops, faults injected, lost,
 * diverged, duplicates; exits 1 if anything was lost, diverged or duplicated.
 */
const options = new Command('torture')
  .option('--connectors <n>', 'simulated connectors', '20')
  .option('--nodes <n>', 'dmci nodes', '3')
  .option('--duration <seconds>', 'seconds of load', '300')
  .option('--fault-every <seconds>', 'average seconds between faults (0 = none)', '5')
  .option('--seed <n>', 'random seed', String(Date.now() % 100000))
  .parse()
  .opts<{ connectors: string; nodes: string; duration: string; faultEvery: string; seed: string }>();

const dataDir = await mkdtemp(join(tmpdir(), 'dmci-torture-'));
const embedded = process.env.DATABASE_URL ? undefined : await openEmbeddedPostgres({ dataDir, port: await freePort(), log: createLogger('warn'), applicationName: 'torture' });
const adminUrl = process.env.DATABASE_URL ?? embedded!.url;
const name = `dmci_torture_${Date.now()}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`create database ${name}`);
const url = new URL(adminUrl);
url.pathname = `/${name}`;
const { db } = createDatabase({ url: url.toString(), poolSize: 1, applicationName: 'torture' });
await migrateToLatest(db);
await db.destroy();

const started = Date.now();
const report = await runTorture({
  databaseUrl: url.toString(),
  connectors: Number(options.connectors),
  nodes: Number(options.nodes),
  durationMs: Number(options.duration) * 1000,
  faultEveryMs: Number(options.faultEvery) * 1000,
  seed: Number(options.seed),
  log: (line) => process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`),
});
process.stdout.write(
  [
    `seed        ${options.seed}`,
    `ops         ${report.ops} (acknowledged: ${report.acknowledged.creates} creates, ${report.acknowledged.updates} updates, ${report.acknowledged.destroys} destroys; ${report.unacknowledged} never acknowledged)`,
    `faults      ${report.faults.nodeKills} node kills, ${report.faults.connectionKills} connection cuts; ${report.reconnects} client reconnects`,
    `pushes      ${report.pushesApplied} applied directly`,
    `lost        ${report.lost}`,
    `diverged    ${report.diverged}`,
    `duplicates  ${report.duplicates}`,
    `regressions ${report.modseqRegressions}`,
    ...report.problems.slice(0, 20).map((p) => `problem     ${p}`),
  ].join('\n') + '\n',
);
await admin.query(`drop database ${name} with (force)`);
await admin.end();
await embedded?.release();
await rm(dataDir, { recursive: true, force: true });
process.exit(report.lost + report.diverged + report.duplicates + report.modseqRegressions > 0 ? 1 : 0);
