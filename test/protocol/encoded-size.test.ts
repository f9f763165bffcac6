import { describe, expect, it } from 'vitest';
import { encodedSize, encodeFrame } from '../../protocol/index.ts';
import { Random } from '../helpers/random.ts';

const texts = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'é'.repeat(40), '€uro', '😀 emoji', '\ud800 lone', 'tail \udc00', 'y'.repeat(255), 'y'.repeat(256), 'z'.repeat(70_000)];
const numbers = [0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, -1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 0.5, -1e300, 2 ** 60, Number.NaN];

/** A random value of at most `budget.nodes` nodes (big strings and binaries are shared, not copied). */
const binaries = [0, 255, 256, 70_000].map((n) => new Uint8Array(n));

function randomValue(random: Random, depth: number, budget = { nodes: 60 }): unknown {
  budget.nodes--;
  switch (random.int(depth > 0 && budget.nodes > 0 ? 10 : 7)) {
    case 0: return random.pick([null, undefined, true, false]);
    case 1: return random.pick(numbers);
    case 2: case 3: return random.pick(texts);
    case 4: return binaries[random.int(binaries.length)];
    case 5: return new Date(random.pick([0, 1_700_000_000_000, 1_700_000_000_123, -5_000, 2 ** 36 * 1000]));
    case 6: return random.int(1_000_000);
    case 7: return Array.from({ length: random.pick([0, 1, 15, 16, 17]) }, () => randomValue(random, depth - 1, budget));
    default: return Object.fromEntries(Array.from({ length: random.pick([0, 1, 15, 16, 17]) }, (_, i) => [random.pick(texts.slice(0, 8)) + i, randomValue(random, depth - 1, budget)]));
  }
}

describe('encodedSize', () => {
  it('is exactly the length encodeFrame produces', () => {
    const random = new Random(11);
    for (let i = 0; i < 600; i++) {
      const value = randomValue(random, 4);
      const size = encodedSize(value);
      if (size !== encodeFrame(value).byteLength) expect.fail(`${size} for ${JSON.stringify(value)?.slice(0, 300)}`);
    }
  });

  it('leaves out map entries whose value is undefined, as the encoder does', () => {
    const value = { a: 1, b: undefined, c: [undefined] };
    expect(encodedSize(value)).toBe(encodeFrame(value).byteLength);
  });
});
