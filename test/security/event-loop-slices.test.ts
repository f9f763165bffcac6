import { describe, expect, it } from 'vitest';
import { LoopSlicer } from '../../server/event-loop-slices.ts';

/** Busy for `ms` of wall time: a piece of main-thread work. */
function work(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('LoopSlicer', () => {
  it('lets other work run between slices of a long loop', async () => {
    const slicer = new LoopSlicer(2);
    let others = 0;
    const other = () => {
      others++;
      if (others < 1000) setImmediate(other);
    };
    setImmediate(other);
    const seenAt: number[] = [];
    for (let piece = 0; piece < 20; piece++) {
      await slicer.pause();
      seenAt.push(others);
      work(1);
    }
    // Without the pauses `others` stays 0 until the loop ends; with them it runs about every other piece.
    expect(seenAt.at(-1)).toBeGreaterThanOrEqual(5);
  });

  it('does not yield while the slice lasts', async () => {
    const slicer = new LoopSlicer(60_000);
    let ran = false;
    setImmediate(() => (ran = true));
    for (let piece = 0; piece < 5; piece++) await slicer.pause();
    expect(ran).toBe(false);
  });
});
