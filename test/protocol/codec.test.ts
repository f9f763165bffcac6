import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeFrame, DecoderLimits, encodeFrame, FrameDecodeError, HelloFrame, nestsDeeperThan, shapeViolation } from '../../protocol/index.ts';
import { Random } from '../helpers/random.ts';

function elements(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 1;
  if (Array.isArray(value)) return 1 + value.reduce((n: number, v) => n + elements(v), 0);
  return 1 + Object.values(value).reduce((n: number, v) => n + 1 + elements(v), 0); // a key is a value too
}

function depth(value: unknown): number {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  return 1 + Math.max(0, ...children.map(depth));
}

/** A random msgpack-able value; `budget` bounds the total number of nodes. */
function randomValue(random: Random, maxDepth: number, budget = { nodes: 200 }): unknown {
  budget.nodes--;
  const kind = random.int(maxDepth > 0 && budget.nodes > 0 ? 12 : 8);
  switch (kind) {
    case 0: return null;
    case 1: return random.bool();
    case 2: return random.int(300) - 150;
    case 3: return random.int(2 ** 31) * (random.bool() ? 1 : -1) * 3;
    case 4: return random.next();
    case 5: return 'x'.repeat(random.pick([0, 5, 31, 32, 255, 256, 70_000].slice(0, budget.nodes > 150 ? 7 : 6)));
    case 6: return new Uint8Array(random.pick([0, 3, 255, 256, 70_000].slice(0, budget.nodes > 150 ? 5 : 4)));
    case 7: return 2 ** 40 + random.int(1000);
    case 8: case 9: return Array.from({ length: random.pick([0, 1, 3, 15, 16, 17]) }, () => randomValue(random, maxDepth - 1, budget));
    default: return Object.fromEntries(Array.from({ length: random.pick([0, 1, 2, 15, 16, 17]) }, (_, i) => [`k${i}`, randomValue(random, maxDepth - 1, budget)]));
  }
}

describe('codec', () => {
  it('measures nesting on the raw bytes exactly as a decoded walk would', () => {
    const random = new Random(7);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(random, random.int(22));
      const bytes = encode(value);
      const d = depth(value);
      for (const limit of [d - 1, d, 16].filter((l) => l >= 0)) expect(nestsDeeperThan(bytes, limit), `depth ${d}, limit ${limit}`).toBe(d > limit);
    }
  });

  it('counts values on the raw bytes exactly as a decoded walk would', () => {
    const random = new Random(11);
    for (let i = 0; i < 2000; i++) {
      const value = randomValue(random, random.int(12));
      const bytes = encode(value);
      const n = elements(value);
      for (const limit of [n - 1, n, n + 1]) expect(shapeViolation(bytes, 64, limit), `${n} values, limit ${limit}`).toBe(n > limit ? 'elements' : null);
    }
  });

  it('refuses a frame of a million empty values from its bytes, before decoding', () => {
    // 100 arrays of 10,000 nils: each within maxArrayLength and nesting only two levels, a million values in all.
    const inner = Buffer.alloc(3 + 10_000, 0xc0);
    inner[0] = 0xdc;
    inner.writeUInt16BE(10_000, 1);
    const bytes = Buffer.concat([Buffer.from([0x81, 0xa1, 0x78, 0xdc, 0x00, 100]), ...Array.from({ length: 100 }, () => inner)]);
    expect(bytes.length).toBeLessThan(1024 * 1024);
    expect(() => decodeFrame(bytes)).toThrow(new RegExp(`at most ${DecoderLimits.maxElements} values`));
  });

  it('refuses a megabyte of nested arrays without building them', () => {
    const bytes = Buffer.alloc(1024 * 1024, 0x91);
    bytes[0] = 0x81; // {…: [[[[…
    expect(() => decodeFrame(bytes)).toThrow(FrameDecodeError);
    expect(() => decodeFrame(bytes)).toThrow(/nest at most/);
  });

  it('round-trips a frame and refuses non-maps, ext types and __proto__', () => {
    expect(decodeFrame(encodeFrame({ type: 'ping', id: 1 }))).toEqual({ type: 'ping', id: 1 });
    expect(() => decodeFrame(encode([1]))).toThrow(/msgpack map/);
    expect(() => decodeFrame(encode({ at: new Date(0) }))).toThrow(FrameDecodeError);
    expect(() => decodeFrame(encode(JSON.parse('{"__proto__":{"x":1}}')))).toThrow(FrameDecodeError);
    expect(() => decodeFrame(encode({ s: 'x'.repeat(DecoderLimits.maxStrLength + 1) }))).toThrow(FrameDecodeError);
  });
});

describe('hello frame', () => {
  const hello = (login: string, clientName = 'test') => ({ type: 'hello', versions: [1], client: { name: clientName, version: '1' }, auth: { method: 'password', login, password: 'secret' } });

  it('refuses a NUL in any text the server looks up or stores (it gave INTERNAL, close 1011, in the fuzz test)', () => {
    expect(HelloFrame.safeParse(hello('alice@example.com')).success).toBe(true);
    expect(HelloFrame.safeParse(hello('alice\u0000@example.com')).success).toBe(false);
    expect(HelloFrame.safeParse(hello('alice@example.com', 'sim\u0000')).success).toBe(false);
  });
});
