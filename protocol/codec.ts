import { Decoder, Encoder } from '@msgpack/msgpack';
import { DecoderLimits } from './limits.ts';

/**
 * The wire codec: one msgpack map per binary WebSocket frame.
 *
 * Decoding is bounded: string, binary, array and map lengths are capped by
 * DecoderLimits, extension types are refused (dates travel as ISO strings),
 * `__proto__` keys are refused by the decoder, and nesting deeper than
 * DecoderLimits.maxDepth is refused after decoding. A decoded frame is still
 * untrusted: it must pass its schema before anything reads it.
 */
const decoder = new Decoder({
  maxStrLength: DecoderLimits.maxStrLength,
  maxBinLength: DecoderLimits.maxBinLength,
  maxArrayLength: DecoderLimits.maxArrayLength,
  maxMapLength: DecoderLimits.maxMapLength,
  maxExtLength: DecoderLimits.maxExtLength,
  useBigInt64: false,
});

const encoder = new Encoder({ ignoreUndefined: true });

export class FrameDecodeError extends Error {
  override readonly name = 'FrameDecodeError';
}

/** Encodes one frame. The result may be sent to many sockets unchanged. */
export function encodeFrame(frame: unknown): Uint8Array {
  return encoder.encode(frame);
}

/** Decodes one frame into a plain object, or throws FrameDecodeError. */
export function decodeFrame(bytes: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (cause) {
    throw new FrameDecodeError(`not a valid msgpack value: ${(cause as Error).message}`, { cause });
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Uint8Array) {
    throw new FrameDecodeError('a frame must be a msgpack map');
  }
  if (depthExceeds(value, DecoderLimits.maxDepth)) {
    throw new FrameDecodeError(`a frame may nest at most ${DecoderLimits.maxDepth} levels`);
  }
  return value as Record<string, unknown>;
}

function depthExceeds(root: unknown, maxDepth: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) continue;
    if (depth > maxDepth) return true;
    const children = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) stack.push([child, depth + 1]);
  }
  return false;
}
