import { InvalidArgumentError, type Command } from 'commander';
import { EmailAddress } from '../../protocol/index.ts';
import { imipInOf } from '../imip/imip-runtime.ts';
import { listOutbox, requeue } from '../imip/outbox.repository.ts';
import { busPublisher } from '../sync/scope-write.ts';
import type { OutboxState } from '../imip/outbox.table.ts';
import { withServices, type CommandContext } from './cli-context.ts';
import { readAll } from './cli-io.ts';

/**
 * `dmci outbox list|retry` (docs/operations.md "Mail"): the iMIP outbox every
 * node sends from. Retried messages are due at once; a running node picks
 * them up at its next pass (DMCI_OUTBOX_POLL_MS).
 */
export function registerImipCommands(program: Command, { run, cliLog, setExitCode, out, io }: CommandContext): void {
  const outbox = program.command('outbox').description('the iMIP outbox: invitations and replies mailed to people outside the server');

  outbox
    .command('list')
    .description('messages in the outbox, newest first, with their state, attempts and the last error')
    .option('--state <state>', 'only pending, sent or dead messages', parseState)
    .option('--limit <n>', 'at most this many messages (1 to 10000)', parseLimit, 100)
    .action((options: { state?: OutboxState; limit: number }) =>
      run(async (config, json) => {
        const rows = await withServices(config, cliLog(), ({ db }) => listOutbox(db, options.state ?? null, options.limit));
        const list = rows.map((r) => ({
          id: r.id,
          state: r.state,
          method: r.method,
          from: r.sender,
          to: r.recipient,
          uid: r.uid,
          summary: r.summary,
          attempts: r.attempts,
          nextAttemptAt: r.state === 'pending' ? r.next_attempt_at.toISOString() : null,
          createdAt: r.created_at.toISOString(),
          sentAt: r.sent_at?.toISOString() ?? null,
          deadAt: r.dead_at?.toISOString() ?? null,
          lastError: r.last_error,
        }));
        if (json) return void out.write(JSON.stringify(list, null, 2) + '\n');
        out.table(
          ['id', 'state', 'method', 'to', 'summary', 'attempts', 'next / sent / dead', 'last error'],
          list.map((m) => [m.id, m.state, m.method, m.to, m.summary ?? '', String(m.attempts), m.nextAttemptAt ?? m.sentAt ?? m.deadAt ?? '', m.lastError ?? '']),
        );
      })(),
    );

  outbox
    .command('retry [ids...]')
    .description('send dead (or pending) messages again now, with a fresh DMCI_OUTBOX_DEAD_AFTER_MS; --dead for every dead message')
    .option('--dead', 'every dead message')
    .action((ids: string[], options: { dead?: boolean }) =>
      run(async (config, json) => {
        if (!options.dead && ids.length === 0) throw new InvalidArgumentError('name message ids, or give --dead');
        for (const id of ids) if (!UUID.test(id)) throw new InvalidArgumentError(`${JSON.stringify(id)} is not a message id`);
        const retried = await withServices(config, cliLog(), ({ db }) => requeue(db, options.dead ? 'dead' : ids, config.DMCI_OUTBOX_DEAD_AFTER_MS));
        out.write(json ? JSON.stringify({ retried }) + '\n' : `${retried} message(s) queued again\n`);
      })(),
    );

  program
    .command('itip-ingest')
    .description('apply one iMIP message (a reply from outside, or an invitation for the calendar attendant) read on stdin, as an MTA pipe does; exit 0 applied, 65 refused for good, 75 try again later')
    .option('--recipient <address>', 'the envelope recipient the MTA delivers to (the calendar attendant acts for that account; without it: the To and Cc accounts)', parseAddress)
    .action((options: { recipient?: string }) =>
      run(async (config, json) => {
        const recipients = options.recipient === undefined ? [] : [options.recipient];
        const raw = await readAll(io, config.DMCI_LMTP_MAX_BYTES + 1);
        const [result] = await withServices(config, cliLog(), ({ db, calendarEvents, bus }) => imipInOf({ config, db, log: cliLog(), publish: busPublisher(bus), calendarEvents }).ingest(raw, recipients));
        if (result!.outcome === 'applied') {
          out.write(json ? JSON.stringify({ outcome: 'applied', method: result!.method, uid: result!.uid, detail: result!.detail }) + '\n' : `applied: ${result!.detail}\n`);
          return;
        }
        const { refusal } = result!;
        io.stderr.write(json ? JSON.stringify({ outcome: 'refused', reason: refusal.reason, status: `${refusal.code} ${refusal.reply}` }) + '\n' : `dmci: refused (${refusal.reason}): ${refusal.code} ${refusal.reply}\n`);
        // sysexits(3), what Postfix's pipe(8) and Exim's pipe transport understand: EX_DATAERR bounces, EX_TEMPFAIL defers.
        setExitCode(refusal.permanent ? 65 : 75);
      })(),
    );
}


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseAddress(value: string): string {
  const result = EmailAddress.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'not an email address');
  return result.data;
}

function parseState(value: string): OutboxState {
  if (value !== 'pending' && value !== 'sent' && value !== 'dead') throw new InvalidArgumentError('must be pending, sent or dead');
  return value;
}

function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 10_000) throw new InvalidArgumentError('must be a whole number from 1 to 10000');
  return n;
}
