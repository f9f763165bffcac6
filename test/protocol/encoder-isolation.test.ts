import { encode } from '@msgpack/msgpack';
import { describe, expect, it } from 'vitest';
import { decodeFrame, encodeFrame } from '../../protocol/index.ts';

/**
 * Issue 7 item 1: after one answer over 1 GiB, a shared @msgpack/msgpack
 * Encoder keeps a buffer over 2 GiB, into which Node's TextEncoder.encodeInto
 * writes nothing — so every later string over 50 characters went out as the
 * stale bytes of earlier frames (another account's ids and emails). No frame
 * may leave state behind that changes the bytes of the next.
 *
 * This test allocates about 2 GiB for a moment: it is the only way to reach
 * the state the attack reached.
 */
describe('encodeFrame keeps no state between frames', { timeout: 120_000 }, () => {
  it('encodes frames byte for byte after a frame over 1 GiB', () => {
    const before = { type: 'push', scope: 'cal:a', changes: { note: 'z'.repeat(80) } };
    expect(Buffer.from(encodeFrame(before))).toEqual(Buffer.from(encode(before, { ignoreUndefined: true })));

    let huge: Uint8Array | undefined = encodeFrame({ type: 'response', id: 1, ok: true, result: { blob: new Uint8Array(1024 * 1024 * 1024 + 4096) } });
    expect(huge.byteLength).toBeGreaterThan(1024 * 1024 * 1024);
    huge = undefined;

    // Account A's frame: short strings (written byte by byte even by a broken encoder) ...
    const secrets = Array.from({ length: 40 }, (_, i) => `owner-${i}@secret.example`);
    const frameA = { type: 'response', id: 2, ok: true, result: { emails: secrets } };
    expect(decodeFrame(encodeFrame(frameA))).toEqual(frameA);
    // ... then account B (another domain) gets a frame whose long strings land where A's bytes were.
    const frameB = { type: 'response', id: 3, ok: true, result: { calendarId: 'b'.repeat(60), note: 'public text for B, long enough to pass fifty characters' } };
    const bytes = encodeFrame(frameB);
    expect(Buffer.from(bytes)).toEqual(Buffer.from(encode(frameB, { ignoreUndefined: true })));
    expect(Buffer.from(bytes).includes('secret.example')).toBe(false);
    expect(decodeFrame(bytes)).toEqual(frameB);
  });

  it('encodes the next frame intact after one that failed half way', () => {
    expect(() => encodeFrame({ type: 'response', id: 1, ok: true, result: { a: 'x'.repeat(100), bad: 10n } })).toThrow();
    const next = { type: 'response', id: 2, ok: true, result: { a: 'y'.repeat(70) } };
    expect(Buffer.from(encodeFrame(next))).toEqual(Buffer.from(encode(next, { ignoreUndefined: true })));
  });
});
