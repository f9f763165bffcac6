import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Migrator } from 'kysely';
import pg from 'pg';
import { migrations as knownMigrations } from '../../migrations/index.ts';
import { createDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { ident, planTables, type TablePlan } from './backup-catalog.ts';
import { BACKUP_FORMAT, BACKUP_FORMAT_VERSION, type BackupHeader, type BackupSummary } from './backup-format.ts';

/** Rows per INSERT are bounded by bytes of JSON, not count: one GAL photo can be large. */
const BATCH_BYTES = 1024 * 1024;

export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

/**
 * `dmci restore FILE`: into an empty database only. Brings the schema to
 * the backup's migration, loads every table in one transaction (all or
 * nothing: a truncated or damaged file changes nothing), then applies the
 * migrations this dmci has beyond the backup's — which is also how a backup
 * moves data to a newer dmci version.
 */
/**
 * With `resync`, every sync scope's modseq and min_modseq jump by this much:
 * more changes than the old server could have made after the backup, so
 * every state token issued before the restore (by either server) is older
 * than the log and gets CANNOT_CALCULATE_CHANGES: connectors sync afresh.
 */
export const RESYNC_MODSEQ_JUMP = 1_000_000_000;

export async function restoreBackup(databaseUrl: string, file: string, options: { resync?: boolean } = {}): Promise<BackupSummary> {
  const lines = readLines(file);
  const header = parseHeader(await next(lines, file));
  const unknown = header.migrations.filter((name) => !(name in knownMigrations));
  if (unknown.length > 0) throw new RestoreError(`the backup comes from a newer dmci (${header.dmci}): this one does not know migration ${unknown[0]}; restore with dmci ${header.dmci} or later`);

  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'dmci-restore' });
  client.on('error', () => {});
  await client.connect();
  const { db } = createDatabase({ url: databaseUrl, poolSize: 1, applicationName: 'dmci-restore' });
  try {
    await requireEmpty(client, header);
    const migrator = new Migrator({ db, provider: { getMigrations: async () => knownMigrations } });
    const last = header.migrations.at(-1);
    if (last) {
      const result = await migrator.migrateTo(last);
      if (result.error) throw new RestoreError(`could not migrate the empty database to the backup's schema (${last}): ${(result.error as Error).message}`);
    }

    await client.query('begin');
    const plans = new Map((await planTables(client)).map((plan) => [plan.name, plan]));
    // Migrations may seed rows; the backup has them too.
    if (plans.size > 0) await client.query(`truncate ${[...plans.keys()].map(ident).join(', ')} cascade`);
    // The backup holds every table as it was, derived rows included (a resource's calendar, search terms,
    // visibility stamps): triggers that derive them would write them twice. Off for the load, on again before commit.
    const triggers = async (state: 'enable' | 'disable') => {
      for (const name of plans.keys()) await client.query(`alter table ${ident(name)} ${state} trigger user`);
    };
    await triggers('disable');
    await client.query('create temporary table dmci_restore_fix (doc json) on commit drop');
    let tables = 0;
    let rows = 0;
    let complete = false;
    for (let line = await next(lines, file); ; line = await next(lines, file)) {
      const record = JSON.parse(line) as { table?: string; columns?: string[]; sequences?: Array<{ name: string; value: string; called: boolean }>; complete?: boolean };
      if (record.table !== undefined) {
        const plan = plans.get(record.table);
        if (!plan) throw new RestoreError(`the backup has table ${record.table}, which the schema at ${header.migrations.at(-1)} does not`);
        const columns = record.columns ?? [];
        const missing = columns.filter((c) => !plan.columns.includes(c));
        if (missing.length > 0) throw new RestoreError(`table ${record.table} has no column ${missing[0]} here`);
        rows += await loadTable(client, plan, columns, lines, file);
        tables++;
      } else if (record.sequences) {
        for (const sequence of record.sequences) await client.query('select setval($1::regclass, $2::bigint, $3)', [ident(sequence.name), sequence.value, sequence.called]);
      } else if (record.complete) {
        complete = true;
        break;
      } else {
        throw new RestoreError(`unexpected line in the backup: ${line.slice(0, 80)}`);
      }
    }
    if (!complete) throw new RestoreError('the backup file is incomplete');
    await triggers('enable');
    if (options.resync) await client.query(`update sync_scopes set modseq = modseq + ${RESYNC_MODSEQ_JUMP}, min_modseq = modseq + ${RESYNC_MODSEQ_JUMP}`);
    await client.query('commit');
    // Anything this dmci adds beyond the backup's schema: restoring is also how data moves to a newer version.
    await migrateToLatest(db);
    return { file, tables, rows, migrations: header.migrations.length };
  } catch (error) {
    await client.query('rollback').catch(() => {});
    throw error;
  } finally {
    await lines.return?.(undefined);
    await client.end().catch(() => {});
    await db.destroy();
  }
}

/**
 * One table's rows, up to its ["end", …] line. Columns that reference the same
 * table (a manager in the GAL) go in NULL first and are set once every row
 * of the table is in, whatever order the rows came in.
 */
async function loadTable(client: pg.Client, plan: TablePlan, columns: string[], lines: AsyncIterator<string>, file: string): Promise<number> {
  const deferred = new Set(plan.selfReferences.flatMap((ref) => ref.columns));
  const selfRefs = plan.selfReferences.filter((ref) => ref.columns.every((c) => columns.includes(c)));
  // OVERRIDING SYSTEM VALUE: identity columns (GENERATED ALWAYS, the audit log's ids) take the backed-up values.
  const insert = `insert into ${ident(plan.name)} (${columns.map(ident).join(', ')}) overriding system value
    select ${columns.map((c) => (deferred.has(c) ? 'null' : ident(c))).join(', ')} from json_populate_recordset(null::${ident(plan.name)}, $1::json)`;
  const remember =
    selfRefs.length === 0
      ? undefined
      : `insert into dmci_restore_fix (doc) select value from json_array_elements($1::json) where ${selfRefs
          .flatMap((ref) => ref.columns)
          .map((c) => `(json_populate_record(null::${ident(plan.name)}, value)).${ident(c)} is not null`)
          .join(' or ')}`;
  let batch: string[] = [];
  let bytes = 0;
  let count = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const payload = `[${batch.join(',')}]`;
    await client.query(insert, [payload]);
    if (remember) await client.query(remember, [payload]);
    count += batch.length;
    batch = [];
    bytes = 0;
  };
  for (;;) {
    const line = await next(lines, file);
    // Rows are JSON objects; the one array line ends the table.
    if (line.startsWith('[')) {
      await flush();
      const [marker, name, expected] = JSON.parse(line) as [string, string, number];
      if (marker !== 'end' || name !== plan.name || expected !== count) throw new RestoreError(`table ${plan.name}: the backup says ${expected} rows, ${count} were read`);
      break;
    }
    batch.push(line);
    bytes += line.length;
    if (bytes >= BATCH_BYTES) await flush();
  }
  for (const ref of selfRefs) {
    const set = ref.columns.map((c) => `${ident(c)} = f.${ident(c)}`).join(', ');
    const match = ref.keys.map((k) => `t.${ident(k)} = f.${ident(k)}`).join(' and ');
    await client.query(`update ${ident(plan.name)} t set ${set} from (select (json_populate_record(null::${ident(plan.name)}, doc)).* from dmci_restore_fix) f where ${match}`);
  }
  if (remember) await client.query('truncate dmci_restore_fix');
  return count;
}

/** Refuses a database holding any row, or migrated past the backup: a restore never merges into live data. */
async function requireEmpty(client: pg.Client, header: BackupHeader): Promise<void> {
  const applied = await client.query<{ name: string }>('select name from kysely_migration order by name').then(
    (r) => r.rows.map((row) => row.name),
    () => [] as string[],
  );
  const beyond = applied.filter((name) => !header.migrations.includes(name));
  if (beyond.length > 0) throw new RestoreError(`the target database is already migrated past the backup (${beyond[0]}): restore into an empty database`);
  for (const plan of await planTables(client)) {
    const { rows } = await client.query<{ any: boolean }>(`select exists (select 1 from ${ident(plan.name)}) as any`);
    if (rows[0]!.any) throw new RestoreError(`the target database is not empty (table ${plan.name} has rows): restore into an empty data directory or a new database (--database NAME)`);
  }
}

function parseHeader(line: string): BackupHeader {
  let header: Partial<BackupHeader>;
  try {
    header = JSON.parse(line) as Partial<BackupHeader>;
  } catch {
    throw new RestoreError('not a dmci backup file');
  }
  if (header.format !== BACKUP_FORMAT || !Array.isArray(header.migrations)) throw new RestoreError('not a dmci backup file');
  if (header.version !== BACKUP_FORMAT_VERSION) throw new RestoreError(`backup format version ${header.version} is not one this dmci reads (${BACKUP_FORMAT_VERSION})`);
  return header as BackupHeader;
}

function readLines(file: string): AsyncIterator<string> {
  const raw = createReadStream(file);
  const input = createGunzip();
  raw.on('error', (error) => input.destroy(error));
  raw.pipe(input);
  return createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
}

async function next(lines: AsyncIterator<string>, file: string): Promise<string> {
  let result;
  try {
    result = await lines.next();
  } catch (error) {
    throw new RestoreError(`cannot read ${file}: ${(error as Error).message}`);
  }
  if (result.done) throw new RestoreError(`the backup file ${file} ends early: it is incomplete`);
  return result.value;
}
