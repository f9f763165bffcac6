/**
 * Why the iMIP intake refuses a message, and the status an MTA gets for it
 * (RFC 3463 enhanced codes: 5xx the MTA bounces the message, 4xx it tries
 * again later). Shared by the intake (imip-in.ts) and the calendar attendant
 * (calendar-attendant.ts); every reason is a label of
 * `dmci_imip_inbound_total{outcome}` (docs/operations.md).
 */

export type RefusalReason =
  | 'malformed'
  | 'no-calendar'
  | 'unsupported-method'
  | 'dmarc-fail'
  | 'sender-mismatch'
  | 'unknown-event'
  | 'not-an-attendee'
  | 'stale-sequence'
  | 'too-large'
  | 'unavailable'
  | 'unknown-recipient'
  | 'attendant-off';

/** SMTP/LMTP reply per reason (RFC 3463 enhanced codes). */
const STATUS: Record<RefusalReason, { code: number; enhanced: string }> = {
  malformed: { code: 554, enhanced: '5.6.0' },
  'no-calendar': { code: 554, enhanced: '5.6.0' },
  'unsupported-method': { code: 554, enhanced: '5.6.0' },
  'dmarc-fail': { code: 550, enhanced: '5.7.1' },
  'sender-mismatch': { code: 550, enhanced: '5.7.1' },
  'unknown-event': { code: 550, enhanced: '5.7.0' },
  'not-an-attendee': { code: 550, enhanced: '5.7.1' },
  'stale-sequence': { code: 550, enhanced: '5.7.0' },
  'too-large': { code: 552, enhanced: '5.3.4' },
  unavailable: { code: 451, enhanced: '4.3.0' },
  'unknown-recipient': { code: 550, enhanced: '5.1.1' },
  'attendant-off': { code: 550, enhanced: '5.7.1' },
};

export class ImipRefusal extends Error {
  override readonly name = 'ImipRefusal';
  constructor(
    readonly reason: RefusalReason,
    message: string,
  ) {
    super(message);
  }
  get code(): number {
    return STATUS[this.reason].code;
  }
  get permanent(): boolean {
    return this.code >= 500;
  }
  /** The reply line an MTA sees: '550 5.7.1 ...' without the code (smtp-server adds it). */
  get reply(): string {
    return `${STATUS[this.reason].enhanced} ${this.message}`;
  }
}

export type IngestResult = { outcome: 'applied'; method: string; uid: string; from: string; detail: string } | { outcome: 'refused'; refusal: ImipRefusal };
