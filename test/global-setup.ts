import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { createDatabase } from '../server/db/database.ts';
import { openEmbeddedPostgres, type EmbeddedPostgres } from '../server/db/embedded-postgres.ts';
import { migrateToLatest } from '../server/db/migrate.ts';
import { freePort } from './helpers/ports.ts';
import { createLogger } from '../server/log/logger.ts';
import { buildBins, removeBins, type BinName } from './helpers/prebuilt-bins.ts';

/**
 * One PostgreSQL per test run: TEST_DATABASE_URL when set, else an embedded
 * one in a temporary directory on a free port. A migrated template database
 * is made once; each test file clones it (test/helpers/database.ts).
 */
export const TEMPLATE_DB = 'dmci_test_template';

let embedded: EmbeddedPostgres | undefined;
let dataDir: string | undefined;
let binsDir: string | undefined;

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    pgTemplate: string;
    /** The bundled bin scripts the process tests spawn (test/helpers/prebuilt-bins.ts). */
    dmciBins: Record<BinName, string>;
  }
}

export async function setup(project: TestProject): Promise<void> {
  const prebuilt = await buildBins();
  binsDir = prebuilt.dir;
  project.provide('dmciBins', prebuilt.bins);
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), 'dmci-test-pg-'));
    embedded = await openEmbeddedPostgres({ dataDir, port: await freePort(), log: createLogger('warn'), applicationName: 'dmci-test-setup' });
    adminUrl = embedded.url.replace(/\/dmci$/, '/postgres');
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  if (embedded) {
    // A cluster for this run only, thrown away at teardown: no crash safety needed. Without the
    // flushes, a test database (created from the template, dropped after its file) costs ~0.2 s
    // instead of ~1.3 s, and no test's commit waits for the disk. Never done to TEST_DATABASE_URL.
    for (const setting of ['fsync', 'full_page_writes', 'synchronous_commit']) await admin.query(`alter system set ${setting} = off`);
    await admin.query('select pg_reload_conf()');
  }
  await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const { db } = createDatabase({ url: withDatabase(adminUrl, TEMPLATE_DB), poolSize: 1, applicationName: 'dmci-test-setup' });
  await migrateToLatest(db);
  await db.destroy();
  project.provide('pgAdminUrl', adminUrl);
  project.provide('pgTemplate', TEMPLATE_DB);
}

export async function teardown(): Promise<void> {
  await embedded?.release();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
  if (binsDir) await removeBins(binsDir);
}

export function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}
