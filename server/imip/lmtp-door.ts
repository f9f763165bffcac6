import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Logger } from '../log/logger.ts';
import type { ImipIn, IngestResult } from './imip-in.ts';

/**
 * The LMTP door (DMCI_LMTP_PORT, off by default; docs/operations.md "Mail"):
 * the MTA delivers scheduling replies here (a Postfix transport map, an Exim
 * router). smtp-server in LMTP mode; no AUTH or STARTTLS — it listens on
 * loopback by default (DMCI_LMTP_HOST) and only the MTA should reach it.
 * Bounded: DMCI_LMTP_MAX_BYTES per message (refused 552 5.3.4 after DATA,
 * advertised with SIZE), DMCI_LMTP_MAX_CONNECTIONS at once, and an idle
 * socket closed after DMCI_LMTP_TIMEOUT_MS. Each message is applied once
 * and every recipient of it gets the same reply: 250, or the refusal's 5xx
 * (the MTA bounces it to the sender) or 4xx (the MTA tries again later).
 */
export class LmtpDoor {
  private readonly server: SMTPServer;

  constructor(o: { imipIn: ImipIn; log: Logger; maxBytes: number; maxConnections: number; timeoutMs: number }) {
    this.server = new SMTPServer({
      lmtp: true,
      name: 'dmci',
      banner: 'dmci iMIP',
      size: o.maxBytes,
      rejectOversized: true,
      maxClients: o.maxConnections,
      socketTimeout: o.timeoutMs,
      closeTimeout: 1000,
      disabledCommands: ['AUTH', 'STARTTLS'],
      authOptional: true,
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        stream.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          // Past the limit the rest is read and dropped; smtp-server answers 552 itself (rejectOversized).
          if (bytes <= o.maxBytes) chunks.push(chunk);
        });
        stream.on('end', () => {
          if (stream.sizeExceeded) return callback(null);
          // LMTP answers each recipient on its own (RFC 2033): the calendar attendant's verdict is per account.
          o.imipIn.ingest(Buffer.concat(chunks), session.envelope.rcptTo.map((r) => r.address)).then(
            // smtp-server takes one reply per recipient as an array in LMTP mode (its typings name only a string).
            (results) => callback(null, results.map(lmtpReply) as unknown as string),
            (error: unknown) => {
              o.log.error({ err: error }, 'LMTP delivery failed');
              const failure = new Error('4.3.0 try again later') as Error & { responseCode: number };
              failure.responseCode = 451;
              callback(failure);
            },
          );
        });
      },
    });
    this.server.on('error', (error) => o.log.warn({ err: error }, 'LMTP door error'));
  }

  async listen(port: number, host: string): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** One recipient's LMTP reply: 250 with what was done, or the refusal's status (5xx the MTA bounces, 4xx it retries). */
function lmtpReply(result: IngestResult): string | Error {
  if (result.outcome === 'applied') return `2.1.5 applied: ${result.detail}`;
  const error = new Error(result.refusal.reply) as Error & { responseCode: number };
  error.responseCode = result.refusal.code;
  return error;
}
