import { monitorEventLoopDelay, performance, type EventLoopUtilization, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Lets a parent process read a child's event-loop delay (how late a 1 ms
 * timer fires, i.e. how long the loop was blocked) between two asks:
 * `{type: 'loopDelay'}` answers the figures since the previous ask and starts
 * a new interval. Issue 7 item 3: no single request may block other
 * sessions for more than a few milliseconds; this is the in-process measure.
 * With it the loop's utilisation (the share of the interval the main thread
 * was running, not waiting for I/O): a high delay at a low utilisation is the
 * main thread waiting for a core (other threads, other processes), not work
 * done on the loop.
 */
export function answerLoopDelayProbes(): void {
  let histogram: IntervalHistogram | undefined;
  let since: EventLoopUtilization | undefined;
  process.on('message', (message: { type?: string; id?: number }) => {
    if (message?.type !== 'loopDelay') return;
    const ms = (ns: number) => Math.round(ns / 1e4) / 100;
    const utilization = since ? Math.round(performance.eventLoopUtilization(since).utilization * 1000) / 1000 : 0;
    const figures = histogram && histogram.count > 0 ? { samples: histogram.count, p50Ms: ms(histogram.percentile(50)), p99Ms: ms(histogram.percentile(99)), maxMs: ms(histogram.max), utilization } : null;
    histogram?.disable();
    histogram = monitorEventLoopDelay({ resolution: 1 });
    histogram.enable();
    since = performance.eventLoopUtilization();
    process.send?.({ type: 'loopDelay', id: message.id, figures });
  });
}
