import { encodeSearchDone, encodeSearchEntry } from './ldap-ber.ts';
import type { OutgoingEntry, PreEncodedEntry } from './ldap-entry.ts';

/**
 * Bytes gathered before they go to the socket. A large answer (photos, pages
 * of thousands) goes out in pieces about this big, not encoded whole first.
 */
export const ANSWER_FLUSH_BYTES = 64 * 1024;

/**
 * The first entries of an answer go out as soon as there are this many,
 * the rest later (in ANSWER_FLUSH_BYTES pieces, or with the result): the
 * client parses them while the server assembles the rest. With a 50-entry
 * answer in one write, the client started only once the last entry was
 * assembled; the second write costs the server less than the client gains
 * (docs/decisions.md, "The first entries of an answer go out early").
 */
export const FIRST_WRITE_ENTRIES = 8;

/** What an answer writes to: a socket, or a test's collector. */
export interface AnswerSink {
  write(chunk: Buffer): unknown;
}

/** An entry's SearchResultEntry message with `messageId`, as one Buffer. */
export function encodeOutgoing(entry: OutgoingEntry, messageId: number): Buffer {
  if (!('writeInto' in entry)) return encodeSearchEntry(messageId, entry);
  const out = Buffer.allocUnsafe(entry.size(messageId));
  entry.writeInto(out, 0, messageId);
  return out;
}

/**
 * One search's answer on the wire: its entries, then its SearchResultDone,
 * gathered and written in few buffers (one per write syscall; an entry per
 * write cost more than finding it): the first FIRST_WRITE_ENTRIES entries,
 * then pieces of ANSWER_FLUSH_BYTES, then the rest with the result.
 */
export class SearchAnswer {
  /** Entries not written yet: encoded ones (SQL's, synthetic ones) and assembled ones, measured. */
  private pending: Array<Buffer | PreEncodedEntry> = [];
  private pendingBytes = 0;
  /** Whether the answer's first entries went out already. */
  private started = false;

  constructor(
    private readonly sink: AnswerSink,
    private readonly messageId: number,
  ) {}

  entry(entry: OutgoingEntry): void {
    const part = 'writeInto' in entry ? entry : encodeSearchEntry(this.messageId, entry);
    this.pending.push(part);
    this.pendingBytes += Buffer.isBuffer(part) ? part.length : part.size(this.messageId);
    if (this.pendingBytes >= ANSWER_FLUSH_BYTES || (!this.started && this.pending.length === FIRST_WRITE_ENTRIES)) this.flush();
  }

  /** Writes what is pending with the SearchResultDone after it. */
  done(result: { code: number; matchedDN: string; message: string; cookie?: Buffer }): void {
    this.flush(encodeSearchDone(this.messageId, result));
  }

  private flush(last?: Buffer): void {
    const out = Buffer.allocUnsafe(this.pendingBytes + (last?.length ?? 0));
    let at = 0;
    for (const part of this.pending) at = Buffer.isBuffer(part) ? at + part.copy(out, at) : part.writeInto(out, at, this.messageId);
    last?.copy(out, at);
    this.pending = [];
    this.pendingBytes = 0;
    if (out.length > 0) this.sink.write(out);
    this.started = true;
  }
}
