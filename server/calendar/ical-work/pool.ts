import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { ErrorCode } from '../../../protocol/errors.ts';
import { DmciError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { compiledWorkerUrl } from './compiled-worker.ts';
import type { TaskInput, TaskName, TaskOutput } from './tasks.ts';
import type { TaskMessage, TaskReply } from './worker.ts';

export interface IcalWorkerPoolOptions {
  /** Worker threads at most (DMCI_ICAL_WORKERS); started by start() or on first use. */
  size: number;
  /** Tasks waiting for a free worker at most (DMCI_ICAL_QUEUE); past it: UNAVAILABLE with retryAfterMs. */
  maxQueue: number;
  /** Tasks of one owner (workOwner) waiting at most (DMCI_ICAL_QUEUE_PER_ACCOUNT); past it: RATE_LIMITED with retryAfterMs. Default: maxQueue. */
  maxQueuePerOwner?: number;
  /** A task running longer is cut off: its worker is terminated and replaced, the caller gets TIMEOUT. */
  taskTimeoutMs: number;
  log: Logger;
  /** Told of every task that got a result or a refusal: its name and seconds from queueing (metrics). */
  observe?: (task: TaskName, seconds: number) => void;
  /** Load worker.ts through tsx even where a compiled worker exists (compiled-worker.ts): for tests of that path. */
  fromSource?: boolean;
}

/**
 * Whose work a task is, for fairness between owners: an account (the one
 * whose request needs it), anonymous readers together (the Internet
 * free/busy door), or the server itself (maintenance jobs, pushes).
 */
export const workOwner = {
  account: (accountId: string): string => `account:${accountId}`,
  anonymous: 'anonymous',
  /** Scheduling mail from outside (iMIP in), all senders together: a mail flood takes one turn, not everyone's. */
  mail: 'mail',
  server: 'server',
} as const;

interface Job {
  id: number;
  owner: string;
  task: TaskName;
  input: unknown;
  queuedAt: number;
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

interface Slot {
  worker: Worker;
  job: Job | null;
  timer: NodeJS.Timeout | undefined;
  /** Loaded and listening (it posts 'ready'). */
  ready: boolean;
  /** Settles when the worker is ready, or fails if it dies before. */
  loaded: Promise<void>;
}

/** Retry advice when the queue is full: about one task's time. */
const BUSY_RETRY_MS = 1000;

/**
 * A fixed pool of worker threads for CPU-heavy calendar work (tasks.ts),
 * with bounded queues in front (DESIGN §7 "work"): the event loop that
 * serves every session only posts the texts and gets plain results back.
 *
 * Fair between owners (workOwner), so one account flooding expensive work
 * cannot starve another account's small write:
 * - one FIFO queue per owner, served round-robin (each time a worker frees,
 *   the next owner in the rotation with work waiting gets it);
 * - an owner runs at most `size - 1` tasks at once (1 with a single worker),
 *   so with two workers or more one is always left for everyone else;
 * - at most `maxQueuePerOwner` tasks of one owner wait (RATE_LIMITED past
 *   it), at most `maxQueue` in all (UNAVAILABLE past it).
 * Bound: another owner's task waits for no task of the flooding owner
 * (with one worker: for at most the one running), only for one task of each
 * other owner ahead of it in the rotation.
 *
 * The sources are TypeScript run through tsx, so each worker starts from a
 * small bootstrap that registers tsx's loader in its own thread (loader hooks
 * are per thread) and then imports worker.ts (or, in a compiled build, loads
 * its compiled worker: compiled-worker.ts). Idle workers are unref'd: they
 * never keep a process alive.
 */
export class IcalWorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly idle: Slot[] = [];
  /** Waiting tasks by owner; the map's order is the rotation (an owner served moves to its end). */
  private readonly queues = new Map<string, Job[]>();
  private waiting = 0;
  /** Running tasks by owner. */
  private readonly running = new Map<string, number>();
  private nextId = 1;
  private closed = false;

  constructor(private readonly options: IcalWorkerPoolOptions) {}

  /** Tasks waiting for a worker (for tests and metrics). */
  get queued(): number {
    return this.waiting;
  }

  /** Runs `task` for `owner` (workOwner): in turn with other owners' tasks, within its owner's bounds. */
  run<T extends TaskName>(task: T, input: TaskInput<T>, owner: string): Promise<TaskOutput<T>> {
    if (this.closed) return Promise.reject(new DmciError(ErrorCode.UNAVAILABLE, 'server is shutting down'));
    const perOwner = this.options.maxQueuePerOwner ?? this.options.maxQueue;
    const mine = this.queues.get(owner);
    if (mine && mine.length >= perOwner) {
      return Promise.reject(
        new DmciError(ErrorCode.RATE_LIMITED, `too much calendar processing of yours is waiting (${perOwner} tasks): retry later`, {
          retryAfterMs: BUSY_RETRY_MS,
          details: { limit: perOwner },
        }),
      );
    }
    if (this.waiting >= this.options.maxQueue) {
      return Promise.reject(
        new DmciError(ErrorCode.UNAVAILABLE, `calendar processing is busy (${this.options.maxQueue} tasks waiting): retry later`, {
          retryAfterMs: BUSY_RETRY_MS,
          details: { limit: this.options.maxQueue },
        }),
      );
    }
    return new Promise<TaskOutput<T>>((resolve, reject) => {
      const job: Job = { id: this.nextId++, owner, task, input, queuedAt: performance.now(), resolve: resolve as (output: unknown) => void, reject };
      if (mine) mine.push(job);
      else this.queues.set(owner, [job]);
      this.waiting++;
      this.pump();
    });
  }

  /**
   * Starts every worker now (a server at start-up) and resolves when all are
   * loaded: a node that says it is up can parse a calendar object at once
   * (loading a worker takes a second of CPU, many more on a busy machine,
   * which a first request would otherwise wait out). A worker that fails to
   * load (e.g. no file descriptor left) is logged and dropped; the pool
   * starts another when work arrives, as it always does.
   */
  async start(): Promise<void> {
    while (!this.closed && this.slots.size < this.options.size) this.spawn();
    await Promise.allSettled([...this.slots].map((slot) => slot.loaded));
  }

  /** Terminates every worker; queued and running tasks fail with UNAVAILABLE. */
  async close(): Promise<void> {
    this.closed = true;
    const gone = new DmciError(ErrorCode.UNAVAILABLE, 'server is shutting down');
    for (const jobs of this.queues.values()) for (const job of jobs) job.reject(gone);
    this.queues.clear();
    this.waiting = 0;
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
    while (this.slots.size < Math.min(this.options.size, this.busyCount() + this.waiting)) this.spawn();
    while (this.idle.length > 0) {
      const job = this.nextJob();
      if (!job) return;
      const slot = this.idle.pop()!;
      slot.job = job;
      this.running.set(job.owner, (this.running.get(job.owner) ?? 0) + 1);
      slot.worker.ref();
      slot.timer = setTimeout(() => this.timedOut(slot), this.options.taskTimeoutMs);
      const message: TaskMessage = { id: job.id, task: job.task, input: job.input };
      slot.worker.postMessage(message);
    }
  }

  /** The first job of the first owner in the rotation below its running bound; that owner moves to the rotation's end. */
  private nextJob(): Job | undefined {
    const maxRunning = Math.max(1, this.options.size - 1);
    for (const [owner, jobs] of this.queues) {
      if ((this.running.get(owner) ?? 0) >= maxRunning) continue;
      const job = jobs.shift()!;
      this.queues.delete(owner);
      if (jobs.length > 0) this.queues.set(owner, jobs);
      this.waiting--;
      return job;
    }
    return undefined;
  }

  private busyCount(): number {
    let busy = 0;
    for (const slot of this.slots) if (slot.job || !slot.ready) busy++;
    return busy;
  }

  private spawn(): void {
    const worker = new Worker(bootstrap(this.options.fromSource ? undefined : compiledWorkerUrl), { eval: true, name: 'dmci-ical' });
    let loaded!: () => void;
    let failed!: (error: Error) => void;
    const slot: Slot = { worker, job: null, timer: undefined, ready: false, loaded: new Promise((resolve, reject) => ((loaded = resolve), (failed = reject))) };
    slot.loaded.catch(() => undefined); // a worker started on demand has no one waiting for it: its death fails its task instead
    this.slots.add(slot);
    worker.once('error', (error) => failed(error));
    worker.once('exit', (code) => failed(new Error(`calendar worker exited with ${code} while loading`)));
    worker.on('message', (reply: TaskReply | 'ready') => {
      if (reply !== 'ready') return this.onReply(slot, reply);
      slot.ready = true;
      loaded();
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
    this.options.observe?.(job.task, (performance.now() - job.queuedAt) / 1000);
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
    if (job) {
      const running = (this.running.get(job.owner) ?? 1) - 1;
      if (running > 0) this.running.set(job.owner, running);
      else this.running.delete(job.owner);
    }
    clearTimeout(slot.timer);
    slot.job = null;
    slot.timer = undefined;
    slot.worker.unref();
    return job;
  }
}

let sourceBootstrap: string | undefined;
/** Code of a worker: load the compiled worker if given, else register tsx's ESM loader in the thread, then load worker.ts. */
function bootstrap(compiled: string | undefined): string {
  if (compiled) return `import(${JSON.stringify(compiled)});`;
  if (!sourceBootstrap) {
    const tsxApi = new URL('esm/api/index.mjs', pathToFileURL(createRequire(import.meta.url).resolve('tsx'))).href;
    const entry = new URL('./worker.ts', import.meta.url).href;
    sourceBootstrap = `import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
  }
  return sourceBootstrap;
}
