import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';
import { OutboxSender, smtpTransport } from './outbox-sender.ts';

/** The outbox sender as `dmci start` runs it, from the configuration (app.ts calls this when DMCI_SMTP_URL is set). */
export function startOutboxSender(o: { config: Config; db: Db; log: Logger; metrics: Metrics; publish: ScopePublisher }): OutboxSender {
  const { config } = o;
  const sender = new OutboxSender({
    db: o.db,
    log: o.log.child({ component: 'imip-out' }),
    publish: o.publish,
    node: config.nodeId,
    identity: { mode: config.DMCI_MAIL_FROM_MODE, mailFrom: config.DMCI_MAIL_FROM },
    transport: smtpTransport(config.DMCI_SMTP_URL!, config.DMCI_SMTP_TIMEOUT_MS),
    pollMs: config.DMCI_OUTBOX_POLL_MS,
    batch: config.DMCI_OUTBOX_BATCH,
    leaseMs: config.DMCI_OUTBOX_LEASE_MS,
    retryBaseMs: config.DMCI_OUTBOX_RETRY_BASE_MS,
    retryMaxMs: config.DMCI_OUTBOX_RETRY_MAX_MS,
    retentionDays: config.DMCI_OUTBOX_RETENTION_DAYS,
    onDelivered: () => o.metrics.outboxDelivered.inc(),
    onFailed: (outcome) => o.metrics.outboxFailed.inc({ outcome }),
  });
  sender.start();
  return sender;
}
