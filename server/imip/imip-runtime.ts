import type { Config } from '../config/config.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';
import { ImipIn, type ImipInOptions } from './imip-in.ts';
import { ImipOut } from './imip-out.ts';
import { LmtpDoor } from './lmtp-door.ts';
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

/** iMIP out exists only with an SMTP server configured (services.ts and the ingest path ask here). */
export function imipOutOf(config: Config): ImipOut | undefined {
  return config.DMCI_SMTP_URL ? new ImipOut({ deadAfterMs: config.DMCI_OUTBOX_DEAD_AFTER_MS }) : undefined;
}

/** The one iMIP intake, as the LMTP door and `dmci itip-ingest` use it. */
export function imipInOf(o: { config: Config; db: Db; log: Logger; publish: ScopePublisher; calendarEvents: ImipInOptions['calendarEvents']; metrics?: Metrics }): ImipIn {
  return new ImipIn({
    db: o.db,
    log: o.log.child({ component: 'imip-in' }),
    publish: o.publish,
    calendarEvents: o.calendarEvents,
    imipOut: imipOutOf(o.config),
    maxBytes: o.config.DMCI_LMTP_MAX_BYTES,
    storageQuotaBytes: o.config.DMCI_STORAGE_QUOTA_BYTES,
    ...(o.metrics ? { onResult: (outcome: string) => o.metrics!.imipInbound.inc({ outcome }) } : {}),
  });
}

/** The LMTP door as `dmci start` opens it when DMCI_LMTP_PORT is set. */
export async function startLmtpDoor(o: { config: Config; imipIn: ImipIn; log: Logger }): Promise<{ door: LmtpDoor; port: number }> {
  const door = new LmtpDoor({ imipIn: o.imipIn, log: o.log, maxBytes: o.config.DMCI_LMTP_MAX_BYTES, maxConnections: o.config.DMCI_LMTP_MAX_CONNECTIONS, timeoutMs: o.config.DMCI_LMTP_TIMEOUT_MS });
  const port = await door.listen(o.config.DMCI_LMTP_PORT!, o.config.DMCI_LMTP_HOST);
  return { door, port };
}
