/**
 * The password-hashing queue (DESIGN §7). argon2id is memory-hard on purpose,
 * so at most `concurrency` hashes run at once. Unlike a plain semaphore, the
 * waiting line is bounded — per key (the client's address) and in total — so
 * a flood of unauthenticated hellos cannot stretch every other login's wait
 * past the handshake deadline: what does not fit is refused at once
 * (HashQueueFull) and the door answers "try again later". A waiting task
 * whose AbortSignal fires (its socket closed, or it can no longer start in
 * time) leaves the line without being hashed.
 *
 * Work without a key (an admin setting a password, a trusted host's login)
 * still waits its turn but is bounded in total only: admins are
 * authenticated, and a trusted balancer carries many users on one address.
 */
export interface HashQueueSettings {
  /** Hashes running at once. */
  concurrency: number;
  /** Keyed tasks waiting at most, over all keys. */
  maxQueued: number;
  /** Tasks of one key waiting or running at once. */
  maxPerKey: number;
}

/** Who a password check is for: the line is bounded per key, and `signal` withdraws a check that has not started. */
export interface HashTicket {
  /** The client's address; absent for work bounded in total only (admins, trusted hosts). */
  key?: string | undefined;
  signal?: AbortSignal | undefined;
}

export class HashQueueFull extends Error {
  override readonly name = 'HashQueueFull';
}

interface Waiter {
  key: string | undefined;
  start: () => void;
  cancel: (reason: unknown) => void;
}

export class HashQueue {
  private running = 0;
  private keyedWaiting = 0;
  private readonly waiting: Waiter[] = [];
  private readonly perKey = new Map<string, number>();

  constructor(private readonly settings: HashQueueSettings) {}

  async run<T>(task: () => Promise<T>, options: HashTicket = {}): Promise<T> {
    const { key, signal } = options;
    signal?.throwIfAborted();
    if (key !== undefined) {
      if ((this.perKey.get(key) ?? 0) >= this.settings.maxPerKey) throw new HashQueueFull(`at most ${this.settings.maxPerKey} password checks per address at once`);
      if (this.running >= this.settings.concurrency && this.keyedWaiting >= this.settings.maxQueued) throw new HashQueueFull('the password-hashing queue is full');
      this.perKey.set(key, (this.perKey.get(key) ?? 0) + 1);
    }
    try {
      if (this.running >= this.settings.concurrency) await this.wait(key, signal);
      else this.running++;
      try {
        return await task();
      } finally {
        this.next();
      }
    } finally {
      if (key !== undefined) {
        const left = (this.perKey.get(key) ?? 1) - 1;
        if (left <= 0) this.perKey.delete(key);
        else this.perKey.set(key, left);
      }
    }
  }

  /** Tasks waiting for a turn (not yet running). */
  get queued(): number {
    return this.waiting.length;
  }

  private wait(key: string | undefined, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => waiter.cancel(signal!.reason);
      const waiter: Waiter = {
        key,
        start: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        cancel: (reason) => {
          const index = this.waiting.indexOf(waiter);
          if (index < 0) return;
          this.waiting.splice(index, 1);
          if (key !== undefined) this.keyedWaiting--;
          reject(reason);
        },
      };
      this.waiting.push(waiter);
      if (key !== undefined) this.keyedWaiting++;
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Hands the finished task's slot to the next waiter, or frees it. */
  private next(): void {
    const waiter = this.waiting.shift();
    if (!waiter) {
      this.running--;
      return;
    }
    if (waiter.key !== undefined) this.keyedWaiting--;
    waiter.start();
  }
}
