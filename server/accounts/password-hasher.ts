import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { HashQueue, type HashTicket } from '../security/hash-queue.ts';

// Algorithm is an ambient const enum, which isolated modules cannot read; 2 is its Argon2id.
const ARGON2ID = 2 as Algorithm.Argon2id;

/**
 * argon2id through @node-rs/argon2 (prebuilt binaries, runs off the event
 * loop). Hashing is memory-hard on purpose, so it goes through a HashQueue:
 * at most `concurrency` run at once and the waiting line is bounded per
 * address and in total. The library's verify compares in constant time.
 * Unknown users are verified against a dummy hash so their timing matches a
 * real account's.
 */
export class PasswordHasher {
  private readonly queue: HashQueue;
  private readonly options: { algorithm: Algorithm; memoryCost: number; timeCost: number; parallelism: number };
  private dummyHash: Promise<string> | undefined;

  constructor(settings: { concurrency: number; memoryKiB: number; maxQueued?: number; maxPerKey?: number }) {
    this.queue = new HashQueue({ concurrency: settings.concurrency, maxQueued: settings.maxQueued ?? 128, maxPerKey: settings.maxPerKey ?? 2 });
    // OWASP's second recommended argon2id profile: m=19 MiB, t=2, p=1.
    this.options = { algorithm: ARGON2ID, memoryCost: settings.memoryKiB, timeCost: 2, parallelism: 1 };
  }

  hash(password: string): Promise<string> {
    return this.queue.run(() => hash(password, this.options));
  }

  /** Throws HashQueueFull when the line is full, or the signal's reason when it fired before the turn came. */
  async verify(passwordHash: string, password: string, ticket: HashTicket = {}): Promise<boolean> {
    return this.queue.run(async () => {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false; // a corrupt hash never authenticates
      }
    }, ticket);
  }

  /** Spends the same effort as a real verification, and always fails. */
  async verifyDummy(password: string, ticket: HashTicket = {}): Promise<false> {
    this.dummyHash ??= this.hash('dmci-dummy-password-for-unknown-users');
    await this.verify(await this.dummyHash, password, ticket);
    return false;
  }

  /** Checks waiting for a turn, for metrics. */
  get queued(): number {
    return this.queue.queued;
  }
}
