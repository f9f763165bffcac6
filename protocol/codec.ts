import { Decoder, Encoder } from '@msgpack/msgpack';
import { DecoderLimits, ServerFrameLimits } from './limits.ts';

/**
 * The wire codec: one msgpack map per binary WebSocket frame.
 *
 * Decoding is bounded: string, binary, array and map lengths are capped by
 * DecoderLimits, extension types are refused (dates travel as ISO strings),
 * `__proto__` keys are refused by the decoder, and nesting deeper than
 * DecoderLimits.maxDepth or more than DecoderLimits.maxElements values in all
 * are refused before decoding. A decoded frame is still
 * untrusted: it must pass its schema before anything reads it.
 */
interface FrameLimits {
  maxStrLength: number;
  maxBinLength: number;
  maxArrayLength: number;
  maxMapLength: number;
  maxExtLength: number;
  maxDepth: number;
  maxElements: number;
}

const decoderFor = (limits: FrameLimits) =>
  new Decoder({
    maxStrLength: limits.maxStrLength,
    maxBinLength: limits.maxBinLength,
    maxArrayLength: limits.maxArrayLength,
    maxMapLength: limits.maxMapLength,
    maxExtLength: limits.maxExtLength,
    useBigInt64: false,
  });
const clientFrameDecoder = decoderFor(DecoderLimits);
const serverFrameDecoder = decoderFor(ServerFrameLimits);

/**
 * Encoder options. There is deliberately no shared Encoder: @msgpack/msgpack
 * keeps one growable buffer per Encoder and never shrinks it, and once that
 * buffer passes 2 GiB (after one answer over 1 GiB) Node's
 * TextEncoder.encodeInto writes nothing into it, so every later string over
 * 50 characters went out carrying stale bytes of earlier frames — other
 * accounts' data, to anyone. A fresh Encoder per frame costs a few
 * microseconds (docs/decisions.md) and leaves no state one frame can corrupt
 * for the next.
 */
const encoderOptions = { ignoreUndefined: true } as const;

export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

/**
 * Encodes one frame into bytes of its own. The result may be sent to many sockets unchanged.
 * `expectedBytes`: the caller's estimate of the size, when it has one (an answer it kept within a
 * budget): the encoder's buffer starts there instead of growing by doubling from 2 KiB, which for
 * a 200 KB answer allocated and copied twice its size.
 */
export function encodeFrame(frame: unknown, expectedBytes?: number): Uint8Array {
  return new Encoder(expectedBytes === undefined ? encoderOptions : { ...encoderOptions, initialBufferSize: Math.min(Math.max(expectedBytes, 256), MAX_INITIAL_BUFFER) }).encode(frame);
}

/** An estimate never makes the encoder start above this (it still grows past it when it must). */
const MAX_INITIAL_BUFFER = 16 * 1024 * 1024;

/** Decodes one frame a client sent (the server's door) into a plain object, or throws FrameDecodeError. */
export function decodeFrame(bytes: Uint8Array): Record<string, unknown> {
  return decodeWith(bytes, DecoderLimits, clientFrameDecoder);
}

/**
 * Decodes one frame the server sent (a client's side). The server's frames
 * are bounded in bytes (answers by `maxAnswerBytes`, pushes by the push size
 * limit), not by the request decoder's element and length caps: a page of
 * 5,000 GAL entries is well within 2 MiB but holds far more than 100,000
 * values, so a client that decoded answers with the request limits would
 * drop the largest legitimate pages.
 */
export function decodeServerFrame(bytes: Uint8Array): Record<string, unknown> {
  if (bytes.byteLength > ServerFrameLimits.maxFrameBytes) throw new FrameDecodeError(`a server frame is at most ${ServerFrameLimits.maxFrameBytes} bytes`);
  return decodeWith(bytes, ServerFrameLimits, serverFrameDecoder);
}

function decodeWith(bytes: Uint8Array, limits: FrameLimits, decoder: Decoder): Record<string, unknown> {
  // Depth and element count are checked on the raw bytes, before decoding: a 1 MiB
  // frame of nested one-element arrays would otherwise build a million arrays
  // (~150 MB, ~0.4 s of a blocked event loop), and one of a million nils a million
  // values, before any check could refuse it.
  const violation = shapeViolation(bytes, limits.maxDepth, limits.maxElements);
  if (violation === 'depth') throw new FrameDecodeError(`a frame may nest at most ${limits.maxDepth} levels`);
  if (violation === 'elements') throw new FrameDecodeError(`a frame may hold at most ${limits.maxElements} values in all`);
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (cause) {
    throw new FrameDecodeError(`not a valid msgpack value: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new FrameDecodeError('a frame must be a msgpack map');
  }
  return value as Record<string, unknown>;
}

/** Whether a map or array sits deeper than `maxDepth` (the outermost value is level 1); see shapeViolation. */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  return shapeViolation(bytes, maxDepth, Infinity) === 'depth';
}

/**
 * Walks msgpack bytes without decoding them and tells whether a map or array
 * sits deeper than `maxDepth` (the outermost value is level 1) or the value
 * holds more than `maxElements` values in all (every map key and value, array
 * item and container counts one), whichever it meets first. Malformed or
 * truncated input is left for the decoder to refuse. O(length), no allocation
 * beyond one counter per open level.
 */
export function shapeViolation(bytes: Uint8Array, maxDepth: number, maxElements: number): 'depth' | 'elements' | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const open: number[] = []; // values still expected by each open container
  const length = bytes.length;
  let pos = 0;
  let elements = 0;
  while (pos < length) {
    if (++elements > maxElements) return 'elements';
    const b = bytes[pos]!;
    let size: number; // bytes of this value's header and inline payload
    let children = -1; // -1: a scalar; otherwise a container of that many values
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) size = 1;
    else if (b <= 0x8f) [size, children] = [1, (b & 0x0f) * 2];
    else if (b <= 0x9f) [size, children] = [1, b & 0x0f];
    else if (b <= 0xbf) size = 1 + (b & 0x1f);
    else if (b === 0xc4 || b === 0xd9) size = 2 + u8(view, pos);
    else if (b === 0xc5 || b === 0xda) size = 3 + u16(view, pos);
    else if (b === 0xc6 || b === 0xdb) size = 5 + u32(view, pos);
    else if (b === 0xc7) size = 3 + u8(view, pos);
    else if (b === 0xc8) size = 4 + u16(view, pos);
    else if (b === 0xc9) size = 6 + u32(view, pos);
    else if (b === 0xca || b === 0xce || b === 0xd2) size = 5;
    else if (b === 0xcb || b === 0xcf || b === 0xd3) size = 9;
    else if (b === 0xcc || b === 0xd0) size = 2;
    else if (b === 0xcd || b === 0xd1) size = 3;
    else if (b >= 0xd4 && b <= 0xd8) size = 2 + 2 ** (b - 0xd4);
    else if (b === 0xdc) [size, children] = [3, u16(view, pos)];
    else if (b === 0xdd) [size, children] = [5, u32(view, pos)];
    else if (b === 0xde) [size, children] = [3, u16(view, pos) * 2];
    else if (b === 0xdf) [size, children] = [5, u32(view, pos) * 2];
    else return null; // 0xc1 is never valid: the decoder reports it
    pos += size;
    if (children >= 0) {
      if (open.length + 1 > maxDepth) return 'depth';
      if (children > 0) {
        open.push(children);
        continue;
      }
    }
    // A value is complete: count it against its container, closing every container it completes.
    while (open.length > 0) {
      const top = open.length - 1;
      if (--open[top]! > 0) break;
      open.pop();
    }
    if (open.length === 0) return null;
  }
  return null;
}

// The length that follows a header byte at `pos` (0 when truncated: the decoder reports that).
const u8 = (view: DataView, pos: number) => (pos + 1 < view.byteLength ? view.getUint8(pos + 1) : 0);
const u16 = (view: DataView, pos: number) => (pos + 2 < view.byteLength ? view.getUint16(pos + 1) : 0);
const u32 = (view: DataView, pos: number) => (pos + 4 < view.byteLength ? view.getUint32(pos + 1) : 0);
