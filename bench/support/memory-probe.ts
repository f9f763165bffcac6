/**
 * Lets a parent process ask a child for its memory after a full GC (children
 * run with --expose-gc). Used by benchmarks to compare servers in separate
 * processes, so the load generator's own memory never counts.
 */
export function answerMemoryProbes(extra: () => Record<string, number> = () => ({})): void {
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message?.type !== 'measure') return;
    const gc = (globalThis as { gc?: () => void }).gc;
    // Several rounds: ws and pg free buffers in finalisers that need a second pass.
    for (let i = 0; i < 4; i++) gc?.();
    setTimeout(() => {
      gc?.();
      const usage = process.memoryUsage();
      process.send?.({ type: 'memory', id: message.id, heapUsed: usage.heapUsed, rss: usage.rss, external: usage.external, arrayBuffers: usage.arrayBuffers, ...extra() });
    }, 200);
  });
}
