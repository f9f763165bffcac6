import { decodeServerFrame, encodeFrame } from './codec.ts';

/**
 * A value encoded once: msgpack bytes that a frame built with encodeMap
 * carries as they are, where the value would be. A GAL full sync's page is
 * encoded when it is read (ahead of the client's request, off the answer's
 * path) and the same bytes go to every connector of a sync wave.
 */
export class Encoded<T = unknown> {
  /** Only for typing: what the bytes decode to. */
  declare readonly decodesTo?: T;
  private joined: Uint8Array | undefined;
  /** The bytes in order, in pieces (a map built around encoded values copies none of them). */
  readonly parts: readonly Uint8Array[];
  readonly byteLength: number;
  constructor(parts: readonly Uint8Array[]) {
    this.parts = parts;
    this.byteLength = parts.reduce((n, part) => n + part.length, 0);
  }

  /** The bytes in one piece: copied together once, on first use. */
  get bytes(): Uint8Array {
    if (this.joined === undefined) {
      if (this.parts.length === 1) this.joined = this.parts[0]!;
      else {
        const bytes = new Uint8Array(this.byteLength);
        let at = 0;
        for (const part of this.parts) {
          bytes.set(part, at);
          at += part.length;
        }
        this.joined = bytes;
      }
    }
    return this.joined;
  }
}

/** `value` encoded now, to be carried as it is later; `expectedBytes` as for encodeFrame. */
export function encodeValue<T>(value: T, expectedBytes?: number): Encoded<T> {
  return new Encoded<T>([encodeFrame(value, expectedBytes)]);
}

/**
 * A map of the keys of `value` in their order, each value encoded now or
 * already (an Encoded one is copied in as it is); undefined values are left
 * out, as encodeFrame leaves them out. Decodes to the same map encodeFrame
 * would give for the value with every Encoded replaced by what it decodes to.
 */
export function encodeMap<T extends object>(value: { [K in keyof T]: T[K] | Encoded<T[K]> }): Encoded<T> {
  const parts: Uint8Array[] = [];
  let count = 0;
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    count++;
    parts.push(encodeFrame(key));
    if (item instanceof Encoded) parts.push(...item.parts);
    else parts.push(encodeFrame(item));
  }
  const header = count < 16 ? Uint8Array.of(0x80 | count) : count < 0x10000 ? Uint8Array.of(0xde, count >> 8, count & 0xff) : Uint8Array.of(0xdf, count >>> 24, (count >> 16) & 0xff, (count >> 8) & 0xff, count & 0xff);
  return new Encoded<T>([header, ...parts]);
}

/** What an Encoded map decodes to (decodeServerFrame's limits); a plain value as it is. */
export function decodedValue<T>(value: T | Encoded<T>): T {
  return value instanceof Encoded ? (decodeServerFrame(value.bytes) as T) : value;
}
