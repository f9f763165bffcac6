import { describe, expect, it } from 'vitest';
import { decodedValue, decodeServerFrame, Encoded, encodeFrame, encodeMap, encodeValue } from '../../protocol/index.ts';
import { Random } from '../helpers/random.ts';

/**
 * Values encoded once and carried as they are (protocol/encoded-value.ts):
 * a map built around them decodes to exactly what encodeFrame gives for the
 * same value written out, whatever the map's size and the values' kinds.
 */
describe('encodeMap', () => {
  const random = new Random(7);
  const sample = (): unknown => random.pick([null, true, 0, -1, 127, 128, 70_000, 2 ** 40, 1.5, '', 'é', 'x'.repeat(40), [1, 'a', null], { a: 1, b: [2] }]);

  it.each([0, 1, 15, 16, 17, 300, 70_000])('a map of %i keys, some values encoded already, decodes as encodeFrame encodes it', (size) => {
    const plain: Record<string, unknown> = {};
    const mixed: Record<string, unknown> = {};
    for (let k = 0; k < size; k++) {
      const value = sample();
      plain[`k${k}`] = value;
      mixed[`k${k}`] = k % 3 === 0 ? encodeValue(value) : value;
    }
    const bytes = encodeMap(mixed).bytes;
    expect(decodeServerFrame(bytes)).toEqual(decodeServerFrame(encodeFrame(plain)));
    expect(Buffer.from(bytes).equals(Buffer.from(encodeFrame(plain)))).toBe(true);
  });

  it('leaves out undefined values, as encodeFrame does, and nests encoded maps', () => {
    const inner = encodeMap({ created: encodeValue({ count: 2, columns: { id: ['a', 'b'] } }), destroyed: [] as string[] });
    const frame = encodeMap({ type: 'response', id: 9, ok: true, skipped: undefined, result: inner });
    expect(decodeServerFrame(frame.bytes)).toEqual({ type: 'response', id: 9, ok: true, result: { created: { count: 2, columns: { id: ['a', 'b'] } }, destroyed: [] } });
    expect(decodedValue(inner)).toEqual({ created: { count: 2, columns: { id: ['a', 'b'] } }, destroyed: [] });
    expect(decodedValue({ plain: 1 })).toEqual({ plain: 1 });
    expect(frame).toBeInstanceOf(Encoded);
    // Built around the encoded values without copying them: the pieces are the very arrays.
    expect(frame.parts).toContain(inner.parts.at(-1));
    expect(frame.byteLength).toBe(frame.bytes.length);
  });
});
