import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname, resolve } from 'node:path';
import { once } from 'node:events';
import cliProgress from 'cli-progress';
import { Option, type Command } from 'commander';
import { DomainName } from '../../protocol/index.ts';
import { sendHints } from '../cluster/cluster-bus.ts';
import { settleDirectoryWrite } from '../cluster/directory-read-lease.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';
import type { Db } from '../db/database.ts';
import { exportLdif } from '../directory/import/ldif-export.ts';
import { importDirectory, type ImportFormat, type ImportReport } from '../directory/import/importer.ts';
import { withServices, type CommandContext } from './cli-context.ts';
import { recordAudit } from '../audit/audit.service.ts';
import { cliActor } from './cli-actor.ts';

/**
 * `dmci import FILE` and `dmci export --ldif`: bulk provisioning of the GAL
 * (docs/operations.md §GAL import). Exit code 1 when any line failed (the
 * good lines are imported unless --strict), 0 otherwise.
 */
export function registerDirectoryCommands(program: Command, { run, cliLog, setExitCode, out, io }: CommandContext): void {
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
        const text = await readFile(resolve(io.cwd, file), 'utf8');
        const bar = io.stderr.isTTY && !json ? new cliProgress.SingleBar({ stream: io.stderr, format: ' {bar} {percentage}% | {value}/{total} records | ETA {eta}s' }, cliProgress.Presets.shades_classic) : undefined;
        let started = false;
        const report = await withServices(config, cliLog(), async ({ db }) => {
          const done = await importDirectory(db, text, {
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
          });
          // Once for the whole import (it commits in many batches), before the report acknowledges it: LDAP nodes' read window.
          if (done.committed) await settleDirectoryWrite(db, config.DMCI_DIRECTORY_READ_WINDOW_MS);
          // One record for the whole import (it commits in many batches): the counts, not the entries.
          if (done.committed) {
            const { created, updated, unchanged, deleted, errors } = done;
            await recordAudit(db, cliActor, { action: 'directory.import', target: domain, detail: { file: basename(file), format, created, updated, unchanged, deleted, errors } });
          }
          return done;
        }).finally(() => bar?.stop());
        if (json) out.write(JSON.stringify(report, null, 2) + '\n');
        else out.write(formatReport(report, { dryRun: Boolean(options.dryRun), strict: Boolean(options.strict), verbose: Boolean(options.verbose) }));
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
          const target = options.output ? createWriteStream(resolve(io.cwd, options.output)) : io.stdout;
          for await (const chunk of exportLdif(db, list)) {
            if (!target.write(chunk)) await once(target, 'drain');
          }
          if (options.output) {
            target.end();
            await once(target, 'finish');
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
