/**
 * Matching of prepared values (RFC 4518, string-prep.ts) as UTF-8 bytes, in
 * place: the door's index holds its values packed in one Buffer and tests
 * them without making a string of each. UTF-8 is self-synchronising, so a
 * byte sequence occurs in a value exactly where its characters do: these
 * answer what the SQL path's `=` and `LIKE` answer on the same text.
 */

/** A substrings assertion's prepared parts, as bytes. */
export interface ByteParts {
  initial: Buffer;
  any: readonly Buffer[];
  final: Buffer;
}

export function toByteParts(parts: { initial: string; any: readonly string[]; final: string }): ByteParts {
  return { initial: bytesOf(parts.initial), any: parts.any.map(bytesOf), final: bytesOf(parts.final) };
}

const NO_BYTES = Buffer.alloc(0);
const bytesOf = (text: string): Buffer => (text === '' ? NO_BYTES : Buffer.from(text));

/** Whether `buf[start, end)` is exactly `needle`. */
export function bytesEqual(buf: Uint8Array, start: number, end: number, needle: Uint8Array): boolean {
  return end - start === needle.length && occursAt(buf, start, needle);
}

/** Whether `buf[start, end)` starts with `needle`. */
export function bytesStartWith(buf: Uint8Array, start: number, end: number, needle: Uint8Array): boolean {
  return end - start >= needle.length && occursAt(buf, start, needle);
}

/** Whether `buf[start, end)` ends with `needle`. */
export function bytesEndWith(buf: Uint8Array, start: number, end: number, needle: Uint8Array): boolean {
  return end - start >= needle.length && occursAt(buf, end - needle.length, needle);
}

/**
 * A test of one value for a substrings assertion's parts: the general
 * matcher, or for the common one-part forms (`ab*`, `*ab`) the one comparison
 * they need (walks test thousands of values).
 */
export function partsTest(parts: ByteParts): (buf: Uint8Array, start: number, end: number) => boolean {
  const { initial, any, final } = parts;
  if (any.length === 0 && final.length === 0) return (buf, start, end) => bytesStartWith(buf, start, end, initial);
  if (any.length === 0 && initial.length === 0) return (buf, start, end) => bytesEndWith(buf, start, end, final);
  return (buf, start, end) => bytesMatchParts(buf, start, end, parts);
}

/**
 * Whether `buf[start, end)` matches LIKE `initial%any…%final`: it starts with
 * `initial`, ends with `final` (the two not overlapping) and holds each `any`
 * part in order, none overlapping another or the ends.
 */
export function bytesMatchParts(buf: Uint8Array, start: number, end: number, parts: ByteParts): boolean {
  const { initial, final } = parts;
  if (end - start < initial.length + final.length || !occursAt(buf, start, initial) || !occursAt(buf, end - final.length, final)) return false;
  let position = start + initial.length;
  const last = end - final.length;
  for (const part of parts.any) {
    const found = indexOf(buf, position, last, part);
    if (found < 0) return false;
    position = found + part.length;
  }
  return true;
}

function occursAt(buf: Uint8Array, at: number, needle: Uint8Array): boolean {
  for (let k = 0; k < needle.length; k++) if (buf[at + k] !== needle[k]) return false;
  return true;
}

/** The first position in [from, to - needle.length] where `needle` occurs, or -1. (Values are short: a plain scan.) */
function indexOf(buf: Uint8Array, from: number, to: number, needle: Uint8Array): number {
  const lastStart = to - needle.length;
  if (needle.length === 0) return from <= to ? from : -1;
  const first = needle[0];
  for (let at = from; at <= lastStart; at++) if (buf[at] === first && occursAt(buf, at, needle)) return at;
  return -1;
}

/**
 * The order of `buf[start, end)` against `needle` as UTF-8 bytes (negative,
 * zero, positive), comparing at most `width` bytes of each: with
 * `width = needle.length` a value that starts with the needle compares equal.
 * UTF-8 byte order is code point order, the order the index sorts its keys in.
 */
export function compareBytes(buf: Uint8Array, start: number, end: number, needle: Uint8Array, width = Infinity): number {
  const length = Math.min(end - start, width);
  const needleLength = Math.min(needle.length, width);
  const common = Math.min(length, needleLength);
  for (let k = 0; k < common; k++) {
    const difference = buf[start + k]! - needle[k]!;
    if (difference !== 0) return difference;
  }
  return length - needleLength;
}

/**
 * Code point order of two well-formed strings, which is their UTF-8 byte
 * order (compareBytes'). JS's `<` compares UTF-16 code units, which differs
 * only where a character above U+FFFF meets one in U+E000..U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  const common = Math.min(a.length, b.length);
  for (let k = 0; k < common; k++) {
    const x = a.charCodeAt(k);
    const y = b.charCodeAt(k);
    if (x === y) continue;
    // Surrogates (U+D800..DFFF, only ever part of a character above U+FFFF) sort after U+E000..FFFF.
    if (x >= 0xd800 && y >= 0xd800) return (x >= 0xe000 ? x - 0x800 : x + 0x2000) - (y >= 0xe000 ? y - 0x800 : y + 0x2000);
    return x - y;
  }
  return a.length - b.length;
}
