/**
 * The exact number of bytes encodeFrame (codec.ts) produces for a value,
 * computed without encoding it: what a page builder needs to stop a page
 * before it passes `limits.maxAnswerBytes`, at the cost of one walk and no
 * allocation. Mirrors @msgpack/msgpack's Encoder with `ignoreUndefined`
 * (map entries whose value is undefined are left out; undefined elsewhere
 * is nil); test/protocol/encoded-size.test.ts checks it against the encoder.
 */
export function encodedSize(value: unknown): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'number') return numberSize(value);
  if (typeof value === 'string') return stringSize(value);
  if (Array.isArray(value)) {
    let size = containerHeader(value.length);
    for (const item of value) size += encodedSize(item);
    return size;
  }
  if (ArrayBuffer.isView(value)) return binaryHeader(value.byteLength) + value.byteLength;
  if (value instanceof Date) return dateSize(value);
  if (typeof value === 'object') {
    let count = 0;
    let size = 0;
    for (const key of Object.keys(value)) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      count++;
      size += stringSize(key) + encodedSize(item);
    }
    return containerHeader(count) + size;
  }
  throw new TypeError(`${typeof value} values cannot be encoded`);
}

function numberSize(n: number): number {
  if (!Number.isSafeInteger(n)) return 9;
  if (n >= 0) return n < 0x80 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : n < 0x100000000 ? 5 : 9;
  return n >= -0x20 ? 1 : n >= -0x80 ? 2 : n >= -0x8000 ? 3 : n >= -0x80000000 ? 5 : 9;
}

function stringSize(text: string): number {
  const bytes = utf8Length(text);
  return (bytes < 32 ? 1 : bytes < 0x100 ? 2 : bytes < 0x10000 ? 3 : 5) + bytes;
}

const containerHeader = (count: number) => (count < 16 ? 1 : count < 0x10000 ? 3 : 5);
const binaryHeader = (length: number) => (length < 0x100 ? 2 : length < 0x10000 ? 3 : 5);

/** A Date becomes a timestamp extension: fixext 4, fixext 8 or ext 8 with 12 bytes. */
function dateSize(date: Date): number {
  const ms = date.getTime();
  const sec = Math.floor(ms / 1000);
  const nsec = (ms - sec * 1000) * 1e6;
  if (sec >= 0 && sec <= 0x3ffffffff) return nsec === 0 && sec <= 0xffffffff ? 6 : 10;
  return 15;
}

const NON_ASCII = /[\u0080-\uffff]/;

/** UTF-8 length of a JS string; a lone surrogate counts 3 bytes (it is encoded as U+FFFD). */
function utf8Length(text: string): number {
  // Most strings are ASCII (slot strings, emails, instants): one native test instead of a loop.
  if (!NON_ASCII.test(text)) return text.length;
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a pair: two UTF-16 units, four bytes
      i++;
    } else bytes += 2;
  }
  return bytes;
}
