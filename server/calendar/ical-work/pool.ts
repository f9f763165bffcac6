import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '../../../protocol/errors.ts';
import { DmciError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import type { TaskInput, TaskName, TaskOutput } from './tasks.ts';
import type { TaskMessage, TaskReply } from './worker.ts';

export interface IcalWorkerPoolOptions {
  /** Worker threads at most (DMCI_ICAL_WORKERS); started by start() or on first use. */
  size: number;
  /** Tasks waiting for a free worker at most (DMCI_ICAL_QUEUE); past it: UNAVAILABLE with retryAfterMs. */
  maxQueue: number;
  /** A task running longer is cut off: its worker is terminated and replaced, the caller gets TIMEOUT. */
  taskTimeoutMs: number;
  log: Logger;
}

interface Job {
  id: number;
  task: TaskName;
  input: unknown;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | undefined;
  /** Loaded and listening (it posts 'ready'). */
  ready: boolean;
}

/** Retry advice when the queue is full: about one task's time. */
const BUSY_RETRY_MS = 1000;

/**
 * A fixed pool of worker threads for CPU-heavy calendar work (tasks.ts),
 * with a bounded FIFO queue in front (DESIGN §7 "work"): the event loop that
 * serves every session only posts the texts and gets plain results back.
 *
 * The sources are TypeScript run through tsx, so each worker starts from a
 * small bootstrap that registers tsx's loader in its own thread (loader hooks
 * are per thread) and then imports worker.ts. Idle workers are unref'd: they
 * never keep a process alive.
 */
export class IcalWorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  private readonly queue: Job[] = [];
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: IcalWorkerPoolOptions) {}

  /** Tasks waiting for a worker (for tests and metrics). */
  get queued(): number {
    return this.queue.length;
  }

  run<T extends TaskName>(task: T, input: TaskInput<T>): Promise<TaskOutput<T>> {
    if (this.closed) return Promise.reject(new DmciError(ErrorCode.UNAVAILABLE, 'server is shutting down'));
    if (this.queue.length >= this.options.maxQueue) {
      return Promise.reject(
        new DmciError(ErrorCode.UNAVAILABLE, `calendar processing is busy (${this.options.maxQueue} tasks waiting): retry later`, {
          retryAfterMs: BUSY_RETRY_MS,
          details: { limit: this.options.maxQueue },
        }),
      );
    }
    return new Promise<TaskOutput<T>>((resolve, reject) => {
      this.queue.push({ id: this.nextId++, task, input, resolve: resolve as (output: unknown) => void, reject });
      this.pump();
    });
  }

  /** Starts every worker now (a server at start-up), so the first request does not wait for one to load. */
  start(): void {
    while (!this.closed && this.slots.size < this.options.size) this.spawn();
  }

  /** Terminates every worker; queued and running tasks fail with UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new DmciError(ErrorCode.UNAVAILABLE, 'server is shutting down');
    for (const job of this.queue.splice(0)) job.reject(gone);
    await Promise.all(
      [...this.slots].map((slot) => {
        this.finish(slot)?.reject(gone);
        return slot.worker.terminate();
      }),
    );
    this.slots.clear();
    this.idle.length = 0;
  }

  private pump(): void {
    // Workers start as work arrives; a starting worker joins `idle` once loaded (its start-up is no task's time).
    while (this.slots.size < Math.min(this.options.size, this.busyCount() + this.queue.length)) this.spawn();
    while (this.queue.length > 0) {
      const slot = this.idle.pop();
      if (!slot) return;
      const job = this.queue.shift()!;
      slot.job = job;
      slot.worker.ref();
      slot.timer = setTimeout(() => this.timedOut(slot), this.options.taskTimeoutMs);
      const message: TaskMessage = { id: job.id, task: job.task, input: job.input };
      slot.worker.postMessage(message);
    }
  }

  private busyCount(): number {
    let busy = 0;
    for (const slot of this.slots) if (slot.job || !slot.ready) busy++;
    return busy;
  }

  private spawn(): void {
    const worker = new Worker(bootstrap(), { eval: true, name: 'dmci-ical' });
    const slot: Slot = { worker, job: null, timer: undefined, ready: false };
    this.slots.add(slot);
    worker.on('message', (reply: TaskReply | 'ready') => {
      if (reply !== 'ready') return this.onReply(slot, reply);
      slot.ready = true;
      slot.worker.unref();
      this.idle.push(slot);
      this.pump();
    });
    worker.on('error', (error) => {
      this.options.log.error({ err: error }, 'calendar worker failed');
      this.discard(slot, new DmciError(ErrorCode.INTERNAL, 'internal server error', { cause: error }));
    });
    worker.on('exit', () => this.discard(slot, new DmciError(ErrorCode.INTERNAL, 'internal server error')));
  }

  private onReply(slot: Slot, reply: TaskReply): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    this.finish(slot);
    this.idle.push(slot);
    if (reply.ok) job.resolve(reply.output);
    else if (reply.error.internal) {
      this.options.log.error({ task: job.task, stack: reply.error.message }, 'calendar task failed');
      job.reject(new DmciError(ErrorCode.INTERNAL, 'internal server error'));
    } else {
      const { code, message, details } = reply.error;
      job.reject(new DmciError(code as ErrorCode, message, details === undefined ? {} : { details }));
    }
    this.pump();
  }

  private timedOut(slot: Slot): void {
    const job = slot.job;
    this.options.log.warn({ task: job?.task, timeoutMs: this.options.taskTimeoutMs }, 'calendar task cut off: terminating its worker');
    this.discard(slot, new DmciError(ErrorCode.TIMEOUT, `calendar processing took longer than ${this.options.taskTimeoutMs} ms`));
    void slot.worker.terminate();
  }

  /** Forgets a worker that died or was cut off, fails its task, and lets the queue move on. */
  private discard(slot: Slot, error: Error): void {
    if (!this.slots.delete(slot)) return;
    const index = this.idle.indexOf(slot);
    if (index >= 0) this.idle.splice(index, 1);
    this.finish(slot)?.reject(error);
    if (!this.closed) this.pump();
  }

  private finish(slot: Slot): Job | null {
    const job = slot.job;
    clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = undefined;
    slot.worker.unref();
    return job;
  }
}

let bootstrapCode: string | undefined;
/** Code of a worker: register tsx's ESM loader in the thread, then load worker.ts. */
function bootstrap(): string {
  if (!bootstrapCode) {
    const tsxApi = new URL('esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx'))).href;
    const entry = new URL('./worker.ts', import.meta.url).href;
    bootstrapCode = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  }
  return bootstrapCode;
}
