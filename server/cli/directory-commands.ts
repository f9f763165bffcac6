import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { DomainName } from '../../protocol/index.ts';
import { sendHints } from '../cluster/cluster-bus.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';
import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import { exportLdif } from '../directory/import/ldif-export.ts';
import { importDirectory, type ImportFormat, type ImportReport } from '../directory/import/importer.ts';
import type { Logger } from '../log/logger.ts';
import { withServices } from './cli-context.ts';

export interface DirectoryCommandContext {
  run: (task: (config: Config, json: boolean) => Promise<void>) => () => Promise<void>;
  cliLog: () => Logger;
  setExitCode: (code: number) => void;
}

/**
 * `dmci import FILE` and `dmci export --ldif`: bulk provisioning of the GAL
 * (docs/operations.md §GAL import). Exit code 1 when any line failed (the
 * good lines are imported unless --strict), 0 otherwise.
 */
export function registerDirectoryCommands(program: Command, { run, cliLog, setExitCode }: DirectoryCommandContext): void {
  program
    .command('import <file>')
    .description('import GAL entries (contacts, groups, resources, attributes of people) from CSV or LDIF; idempotent')
    .option('-d, --domain <domain>', 'put every entry into this domain (default: the domain of its address or DN)')
    .option('--dry-run', 'report what would change and write nothing')
    .option('--strict', 'all or nothing: import only if no line fails')
    .option('-v, --verbose', 'list unchanged lines too')
    .addOption(new Option('-f, --format <format>', 'file format (default: from the extension)').choices(['csv', 'ldif']))
    .action((file: string, options: { domain?: string; dryRun?: boolean; strict?: boolean; verbose?: boolean; format?: ImportFormat }) =>
      run(async (config, json) => {
        const format = options.format ?? (extname(file).toLowerCase() === '.ldif' ? 'ldif' : 'csv');
        const domain = options.domain === undefined ? undefined : DomainName.parse(options.domain);
        const text = await readFile(file, 'utf8');
        const bar = process.stderr.isTTY && !json ? new cliProgress.SingleBar({ stream: process.stderr, format: ' {bar} {percentage}% | {value}/{total} records | ETA {eta}s' }, cliProgress.Presets.shades_classic) : undefined;
        let started = false;
        const report = await withServices(config, cliLog(), ({ db }) =>
          importDirectory(db, text, {
            format,
            domain,
            dryRun: options.dryRun,
            strict: options.strict,
            publish: notifyAfterCommit(db),
            onProgress: (done, total) => {
              if (!bar) return;
              if (!started) bar.start(total, 0);
              started = true;
              bar.update(done);
            },
          }),
        ).finally(() => bar?.stop());
        if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else process.stdout.write(formatReport(report, { dryRun: Boolean(options.dryRun), strict: Boolean(options.strict), verbose: Boolean(options.verbose) }));
        if (report.errors > 0) setExitCode(1);
      })(),
    );

  program
    .command('export')
    .description('write the visible GAL as LDIF (re-importable with dmci import)')
    .requiredOption('--ldif', 'LDIF output (the only format)')
    .option('-d, --domain <domain>', 'only this domain (default: every domain)')
    .option('-o, --output <file>', 'write to this file (default: stdout)')
    .action((options: { domain?: string; output?: string }) =>
      run(async (config) => {
        await withServices(config, cliLog(), async ({ db, domains }) => {
          const list = options.domain
            ? [await domains.requireByName(DomainName.parse(options.domain))]
            : await db.selectFrom('domains').select(['id', 'name']).orderBy('name').execute();
          const out = options.output ? createWriteStream(options.output) : process.stdout;
          for await (const chunk of exportLdif(db, list)) {
            if (!out.write(chunk)) await once(out, 'drain');
          }
          if (options.output) {
            out.end();
            await once(out, 'finish');
          }
        });
      })(),
    );
}

/** The CLI has no cluster bus: it tells running nodes after each commit with one NOTIFY (a hint; they poll anyway). */
function notifyAfterCommit(db: Db): ScopePublisher {
  return (scope, modseq) => sendHints(db, [{ kind: 'scope', scope, modseq }]);
}

export function formatReport(report: ImportReport, options: { dryRun: boolean; strict: boolean; verbose: boolean }): string {
  const out: string[] = [];
  for (const line of report.lines) {
    if (line.action === 'unchanged' && !options.verbose) continue;
    if (line.action !== 'error' && !options.dryRun && !options.verbose) continue;
    out.push(`line ${line.line}: ${line.action}${line.key ? ` ${line.key}` : ''}${line.message ? `: ${line.message}` : ''}`);
  }
  if (report.ignored.length > 0) out.push(`ignored LDIF attributes: ${report.ignored.join(', ')}`);
  const counts = `created ${report.created}, updated ${report.updated}, unchanged ${report.unchanged}, deleted ${report.deleted}, errors ${report.errors}`;
  const note = options.dryRun
    ? ' (dry run: nothing was written)'
    : options.strict && !report.committed
      ? ' (--strict: nothing was written because some lines failed)'
      : report.errors > 0
        ? ' (the other lines were imported)'
        : '';
  out.push(counts + note);
  return out.join('\n') + '\n';
}
