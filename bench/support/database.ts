import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openEmbeddedPostgres } from '../../server/db/embedded-postgres.ts';
import { createLogger } from '../../server/log/logger.ts';

/** A fresh database for one benchmark: on DATABASE_URL's server when set, else an embedded PostgreSQL in a temp dir. */
export async function benchDatabase(): Promise<{ url: string; release(): Promise<void> }> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded = async () => {};
  if (!adminUrl) {
    const dataDir = await mkdtemp(join(tmpdir(), 'dmci-bench-pg-'));
    const embedded = await openEmbeddedPostgres({ dataDir, port: await freePort(), log: createLogger('warn'), applicationName: 'dmci-bench' });
    adminUrl = embedded.url;
    stopEmbedded = async () => {
      await embedded.release();
      await rm(dataDir, { recursive: true, force: true });
    };
  }
  const name = `dmci_bench_${Date.now()}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async release() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
      await stopEmbedded();
    },
  };
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
