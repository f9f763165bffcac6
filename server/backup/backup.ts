import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { createGzip } from 'node:zlib';
import pg from 'pg';
import { ident, planTables, readSequences } from './backup-catalog.ts';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type BackupHeader, type BackupSummary } from './backup-format.ts';

const FETCH_ROWS = 1000;

/**
 * `dmci backup FILE`: one consistent snapshot of the whole database (a
 * REPEATABLE READ, READ ONLY transaction, so it runs beside a live server
 * and blocks no writer), written as backup-format.ts describes. It needs no
 * pg_dump: the embedded PostgreSQL ships none, and a system pg_dump of
 * another major version refuses the server. The file appears under its name
 * only once complete.
 */
export async function writeBackup(databaseUrl: string, file: string, dmciVersion: string): Promise<BackupSummary> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'dmci-backup' });
  client.on('error', () => {});
  await client.connect();
  const partial = `${file}.partial`;
  const gzip = createGzip();
  const out = createWriteStream(partial, { mode: 0o600 });
  gzip.pipe(out);
  const write = async (value: unknown) => {
    if (!gzip.write((typeof value === 'string' ? value : JSON.stringify(value)) + '\n')) await once(gzip, 'drain');
  };
  try {
    await client.query('begin isolation level repeatable read read only');
    const migrations = await client
      .query<{ name: string }>('select name from kysely_migration order by name')
      .then((r) => r.rows.map((row) => row.name))
      .catch(() => {
        throw new Error('this database has no dmci schema (no kysely_migration table): nothing to back up');
      });
    const postgres = (await client.query<{ v: string }>('show server_version')).rows[0]!.v;
    const header: BackupHeader = { format: BACKUP_FORMAT, version: BACKUP_FORMAT_VERSION, dmci: dmciVersion, createdAt: new Date().toISOString(), postgres, migrations };
    await write(header);
    let total = 0;
    const tables = await planTables(client);
    for (const table of tables) {
      await write({ table: table.name, columns: table.columns });
      await client.query(`declare dmci_backup no scroll cursor for select row_to_json(r)::text as j from (select ${table.columns.map(ident).join(', ')} from ${ident(table.name)}) r`);
      let rows = 0;
      for (;;) {
        const batch = await client.query<{ j: string }>(`fetch ${FETCH_ROWS} from dmci_backup`);
        for (const row of batch.rows) await write(row.j);
        rows += batch.rows.length;
        if (batch.rows.length < FETCH_ROWS) break;
      }
      await client.query('close dmci_backup');
      await write(['end', table.name, rows]);
      total += rows;
    }
    await write({ sequences: await readSequences(client) });
    await write({ complete: true, tables: tables.length, rows: total });
    await client.query('commit');
    gzip.end();
    await once(out, 'close');
    await rename(partial, file);
    return { file, tables: tables.length, rows: total, migrations: migrations.length };
  } catch (error) {
    gzip.destroy();
    out.destroy();
    await rm(partial, { force: true });
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}
