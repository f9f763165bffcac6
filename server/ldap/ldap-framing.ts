import { MAX_MESSAGE_BYTES } from './ldap-limits.ts';

/**
 * Cuts a TCP stream into whole LDAP messages (each a BER SEQUENCE) before
 * ldapjs sees them. ldapjs's own parser buffers without any bound and
 * recurses once per message in a chunk, so a hostile client could exhaust
 * memory or the stack; fed one whole message at a time, it does neither.
 */
export class MessageSplitter {
  private pending: Buffer = Buffer.alloc(0);

  constructor(private readonly maxBytes = MAX_MESSAGE_BYTES) {}

  /** The complete messages now available; throws when the stream is not LDAP or a message is too big. */
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const messages: Buffer[] = [];
    for (;;) {
      const size = messageSize(this.pending, this.maxBytes);
      if (size === undefined || this.pending.length < size) break;
      messages.push(this.pending.subarray(0, size));
      this.pending = this.pending.subarray(size);
    }
    if (this.pending.length > this.maxBytes) throw new Error(`LDAP message larger than ${this.maxBytes} bytes`);
    return messages;
  }
}

/** Total size of the message at the start of `buffer`, or undefined when its header is incomplete. */
function messageSize(buffer: Buffer, maxBytes: number): number | undefined {
  if (buffer.length === 0) return undefined;
  if (buffer[0] !== 0x30) throw new Error('not an LDAP message (expected a BER SEQUENCE)');
  if (buffer.length < 2) return undefined;
  const first = buffer[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4) throw new Error('invalid BER length');
  if (buffer.length < 2 + octets) return undefined;
  let length = 0;
  for (let k = 0; k < octets; k++) length = length * 256 + buffer[2 + k]!;
  const size = 2 + octets + length;
  if (size > maxBytes) throw new Error(`LDAP message of ${size} bytes is larger than ${maxBytes}`);
  return size;
}
