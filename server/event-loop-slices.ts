import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cuts a long loop of main-thread work into slices of about `sliceMs`: at
 * each `pause()` past that budget it yields one turn of the event loop, so
 * other sessions' frames, timers and queries run in between (issue 7: no
 * single request blocks the others for more than a few milliseconds). For
 * work that must stay on the main thread, e.g. inside a transaction, where
 * waiting for a worker would hold locks longer still. The total work is the
 * same; only who waits changes.
 */
export class LoopSlicer {
  private sliceStart = performance.now();

  constructor(private readonly sliceMs = 2) {}

  /** Call between pieces of work; resolves at once while the slice lasts. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    await nextTurn();
    this.sliceStart = performance.now();
  }
}
