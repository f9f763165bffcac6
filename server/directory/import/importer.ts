import type { Transaction } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { Database } from '../../db/schema.ts';
import { watchGroupAccess } from '../../calendar/group-access.ts';
import { galScope } from '../../sync/scope-id.ts';
import { NothingChanged, writeScopes, type ScopePublisher } from '../../sync/scope-write.ts';
import { writeGal } from '../gal-write.ts';
import { readCsv } from './csv-source.ts';
import { applyAttributes, applyReferences, errorMessage, type LineResult } from './import-batch.ts';
import { readLdif } from './ldif-source.ts';
import { prepareRecords, type PreparedRecord } from './prepare.ts';
import type { SourceReadResult } from './source-record.ts';

export type ImportFormat = 'csv' | 'ldif';

export interface ImportOptions {
  format: ImportFormat;
  /** Put every record into this domain (by name); else each record's address or DN names it. */
  domain?: string;
  /** Compute and report everything, write nothing. */
  dryRun?: boolean;
  /** All or nothing: one transaction, rolled back if any line fails. */
  strict?: boolean;
  /** Records per transaction (each bumps the GAL scope once). Default 1000. */
  batchSize?: number;
  onProgress?: (done: number, total: number) => void;
  publish: ScopePublisher;
}

export interface ImportReport {
  created: number;
  updated: number;
  unchanged: number;
  deleted: number;
  errors: number;
  /** One line per record (and per unreadable record), in file order. */
  lines: LineResult[];
  /** LDIF attributes with no GAL meaning that were skipped. */
  ignored: string[];
  /** False for a dry run, and for a strict run that failed. */
  committed: boolean;
}

/** The whole file is unusable (an unknown CSV column, no records): nothing was imported. */
export class ImportFileError extends Error {
  override readonly name = 'ImportFileError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

export const DEFAULT_BATCH_SIZE = 1_000;

class RollBack extends Error {}

/**
 * Imports a CSV or LDIF file into the GAL. Idempotent: an entry is found by
 * its email (or alias), else its source key, else its dmci id, and updated;
 * a record that changes nothing is reported unchanged and writes nothing.
 *
 * Two passes per domain, each in batches (default 1000 records per
 * transaction, each transaction bumping the domain's GAL scope once): pass 1
 * writes attributes and aliases, pass 2 managers and group members (which
 * may point at records later in the file). A bad line is reported with its
 * line number and the good lines are imported; with `strict` the whole
 * import is one transaction that commits only if no line failed; `dryRun`
 * runs that same transaction and always rolls it back, so it reports
 * exactly what an import would do. (Both hold the domain's GAL write lock
 * for the duration, so other GAL writers of that domain wait.)
 */
export async function importDirectory(db: Db, text: string, options: ImportOptions): Promise<ImportReport> {
  const source: SourceReadResult = options.format === 'csv' ? readCsv(text) : readLdif(text);
  if (source.fatal) throw new ImportFileError(source.fatal.line, source.fatal.message);

  const domainRows = await db.selectFrom('domains').select(['id', 'name']).execute();
  const domains = new Map(domainRows.map((d) => [d.name, d.id]));
  if (options.domain && !domains.has(options.domain)) throw new ImportFileError(0, `no domain ${options.domain}`);
  const { prepared, problems } = prepareRecords(source.records, domains, options.domain);

  const lines: LineResult[] = [...source.problems, ...problems].map((p) => ({ line: p.line, key: '', action: 'error', message: p.message }));
  const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
  const byDomain = new Map<string, PreparedRecord[]>();
  for (const record of prepared) {
    const list = byDomain.get(record.domainId);
    if (list) list.push(record);
    else byDomain.set(record.domainId, [record]);
  }
  const referencing = prepared.filter((r) => r.manager !== undefined || r.members !== undefined).length;
  const total = prepared.length + referencing;
  let done = 0;
  const progress = (n: number) => {
    done += n;
    options.onProgress?.(done, total);
  };

  const runDomain = async (domainId: string, records: PreparedRecord[], inBatch: BatchRunner, retrySingly: boolean) => {
    const results = new Map<PreparedRecord, LineResult>();
    const attributes = async (batch: PreparedRecord[]) => {
      const batchResults = await inBatch(domainId, (trx, modseq) => applyAttributes(trx, domainId, modseq, batch));
      batch.forEach((record, n) => results.set(record, batchResults[n]!));
    };
    for (let i = 0; i < records.length; i += batchSize) {
      const batch = records.slice(i, i + batchSize);
      await withRetry(batch, attributes, retrySingly, (record, error) => results.set(record, { line: record.line, key: record.key, action: 'error', message: errorMessage(error) }));
      progress(batch.length);
    }
    const references = async (batch: PreparedRecord[]) => {
      const items = batch.map((record) => ({ record, result: results.get(record)! }));
      await inBatch(domainId, async (trx, modseq) => ({ results: [], changed: await applyReferences(trx, domainId, modseq, items) }));
    };
    const refs = records.filter((r) => (r.manager !== undefined || r.members !== undefined) && results.get(r)?.entryId && results.get(r)!.action !== 'error');
    for (let i = 0; i < refs.length; i += batchSize) {
      const batch = refs.slice(i, i + batchSize);
      await withRetry(batch, references, retrySingly, (record, error) => Object.assign(results.get(record)!, { action: 'error', message: errorMessage(error) }));
      progress(batch.length);
    }
    lines.push(...records.map((r) => results.get(r)!));
  };

  let committed = !options.dryRun;
  if (options.dryRun || options.strict) {
    const domainIds = [...byDomain.keys()];
    try {
      await writeScopes(db, options.publish, async (writer) => {
        for (const id of domainIds) await writer.create(galScope(id));
        const modseqs = await writer.bumpAll(domainIds.map(galScope));
        // As writeGal does: calendar lists follow the group grants the import changes.
        const groupAccess = [];
        for (const id of domainIds) groupAccess.push(await watchGroupAccess(writer, id));
        const inOne: BatchRunner = async (domainId, work) => (await work(writer.trx, modseqs.get(galScope(domainId))!)).results;
        for (const [domainId, records] of byDomain) await runDomain(domainId, records, inOne, false);
        if (options.dryRun || lines.some((l) => l.action === 'error')) throw new RollBack();
        // The lists these bump are published after commit with the GAL hints.
        for (const finish of groupAccess) await finish?.();
      });
    } catch (error) {
      if (!(error instanceof RollBack)) throw error;
      committed = false;
    }
  } else {
    for (const [domainId, records] of byDomain) await runDomain(domainId, records, ownTransactions(db, options.publish), true);
  }

  lines.sort((a, b) => a.line - b.line);
  const count = (action: LineResult['action']) => lines.filter((l) => l.action === action).length;
  return {
    created: count('create'),
    updated: count('update'),
    unchanged: count('unchanged'),
    deleted: count('delete'),
    errors: count('error'),
    lines,
    ignored: source.ignored ?? [],
    committed,
  };
}

type BatchWork = (trx: Transaction<Database>, modseq: number) => Promise<{ results: LineResult[]; changed: boolean }>;
type BatchRunner = (domainId: string, work: BatchWork) => Promise<LineResult[]>;

/**
 * Runs a batch; if the database refuses it (a rule the checks before did not
 * foresee) and retrying is allowed, runs its records one per transaction so
 * only the bad line fails.
 */
async function withRetry(
  batch: PreparedRecord[],
  run: (batch: PreparedRecord[]) => Promise<void>,
  retrySingly: boolean,
  onError: (record: PreparedRecord, error: unknown) => void,
): Promise<void> {
  try {
    await run(batch);
  } catch (error) {
    if (!retrySingly) throw error;
    for (const record of batch) {
      try {
        await run([record]);
      } catch (single) {
        onError(record, single);
      }
    }
  }
}

/** Each batch is its own GAL write; a batch that changes nothing rolls back, so the scope does not move. */
function ownTransactions(db: Db, publish: ScopePublisher): BatchRunner {
  return async (domainId, work) => {
    let outcome: LineResult[] = [];
    await writeGal(
      db,
      publish,
      domainId,
      async (trx, modseq) => {
        const { results, changed } = await work(trx, modseq);
        outcome = results;
        if (!changed) throw new NothingChanged();
      },
      () => undefined,
    );
    return outcome;
  };
}
