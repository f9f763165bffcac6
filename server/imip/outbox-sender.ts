import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { insertInboxMessages } from '../inbox/inbox.repository.ts';
import { inboxScope } from '../sync/scope-id.ts';
import { writeScopes, type ScopePublisher } from '../sync/scope-write.ts';
import { composeMail, type MailIdentity } from './mail-compose.ts';
import { claimDue, markDead, markRetry, markSent, pruneSent } from './outbox.repository.ts';
import type { OutboxRow } from './outbox.table.ts';

/**
 * The background sender of the iMIP outbox (docs/operations.md "Mail").
 * Every node runs one; they share the work through the database:
 *
 * - claim: up to `batch` due rows, each leased to this node for `leaseMs`
 *   (outbox.repository.ts `claimDue`: `for update skip locked`, then the
 *   lease keeps other nodes off after the claim commits). So two nodes never
 *   send the same row; a node killed mid-send leaves the row leased, and
 *   another node sends it again only after the lease ran out — at most one
 *   duplicate, with the same Message-ID (receivers can drop it).
 * - sent: the row becomes `sent` only while this node still holds the lease.
 * - failed: a permanent SMTP answer (5xx) makes the row dead at once; any
 *   other failure retries after retryBase × 2^(attempt−1), at most retryMax,
 *   until the row's `expires_at` (DMCI_OUTBOX_DEAD_AFTER_MS after it was
 *   queued) has passed: then it is dead too.
 * - dead: the reason stays on the row (`dmci outbox list`) and the person who
 *   sent it gets an `undeliverable` inbox message in the same transaction.
 */

export interface OutboxSenderOptions {
  db: Db;
  log: Logger;
  publish: ScopePublisher;
  node: string;
  identity: MailIdentity;
  /** Where mail goes: an SMTP URL (DMCI_SMTP_URL), or a ready transport. */
  transport: Transporter;
  pollMs: number;
  batch: number;
  leaseMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  retentionDays: number;
  onDelivered?: () => void;
  onFailed?: (outcome: 'retry' | 'dead') => void;
}

/** The SMTP transport for DMCI_SMTP_URL (smtp:// upgrades with STARTTLS when offered; smtps:// is TLS from the start). */
export function smtpTransport(url: string, timeoutMs: number): Transporter {
  return nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs, dnsTimeout: timeoutMs } as Parameters<typeof nodemailer.createTransport>[0]);
}

export class OutboxSender {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;
  private lastPrune = 0;

  constructor(private readonly options: OutboxSenderOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((error: unknown) => this.options.log.warn({ err: error }, 'outbox run failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs).unref();
        });
    };
    this.timer = setTimeout(tick, 0).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** One pass: claim, send, record. Returns how many rows it claimed (tests drive it directly). */
  async runOnce(): Promise<number> {
    const { db, node, leaseMs, batch } = this.options;
    const rows = await claimDue(db, node, leaseMs, batch);
    for (const row of rows) await this.deliver(row);
    if (Date.now() - this.lastPrune > 3_600_000) {
      this.lastPrune = Date.now();
      const pruned = await pruneSent(db, this.options.retentionDays);
      if (pruned > 0) this.options.log.info({ pruned }, 'pruned sent iMIP messages');
    }
    return rows.length;
  }

  private async deliver(row: OutboxRow): Promise<void> {
    const { db, log, node } = this.options;
    const about = { outboxId: row.id, method: row.method, uid: row.uid, recipient: row.recipient, attempt: row.attempts };
    try {
      await this.options.transport.sendMail(composeMail(row, this.options.identity));
    } catch (error) {
      const smtp = error as { responseCode?: number; message?: string; code?: string };
      const reason = `${smtp.responseCode ? `${smtp.responseCode} ` : ''}${smtp.message ?? String(error)}`.slice(0, 1000);
      const permanent = smtp.responseCode !== undefined && smtp.responseCode >= 500;
      if (permanent || row.expires_at.getTime() <= Date.now()) {
        await this.bury(row, permanent ? reason : `gave up after ${row.attempts} attempts: ${reason}`);
        log.warn({ ...about, reason }, 'iMIP message undeliverable');
        this.options.onFailed?.('dead');
      } else {
        const delay = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** Math.min(30, row.attempts - 1));
        await markRetry(db, row.id, node, delay, reason);
        log.info({ ...about, reason, retryInMs: delay }, 'iMIP message not sent, will retry');
        this.options.onFailed?.('retry');
      }
      return;
    }
    if (await markSent(db, row.id, node)) {
      log.info(about, 'iMIP message sent');
      this.options.onDelivered?.();
    } else {
      log.warn(about, 'iMIP message sent after its lease ran out (another node may send it too)');
    }
  }

  /** Dead, with an `undeliverable` message in the sender's inbox, in one transaction. */
  private async bury(row: OutboxRow, reason: string): Promise<void> {
    await writeScopes(this.options.db, this.options.publish, async (writer) => {
      const dead = await markDead(writer.trx, row.id, this.options.node, reason);
      if (!dead?.account_id) return;
      const modseq = await writer.bump(inboxScope(dead.account_id));
      await insertInboxMessages(writer.trx, [
        {
          account_id: dead.account_id,
          kind: 'undeliverable',
          uid: dead.uid,
          calendar_id: dead.calendar_id,
          event_id: dead.event_id,
          sender: dead.recipient,
          sequence: dead.sequence,
          summary: dead.summary,
          first_start: dead.first_start,
          comment: `could not deliver to ${dead.recipient}: ${reason}`,
          modseq,
        },
      ]);
    });
  }
}
