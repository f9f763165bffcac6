import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { Semaphore } from '../security/semaphore.ts';

// Algorithm is an ambient const enum, which isolated modules cannot read; 2 is its Argon2id.
const ARGON2ID = 2 as Algorithm.Argon2id;

/**
 * argon2id through @node-rs/argon2 (prebuilt binaries, runs off the event
 * loop). Hashing is memory-hard on purpose, so at most `concurrency` run at
 * once: a burst of logins queues instead of exhausting memory. The library's
 * verify compares in constant time. Unknown users are verified against a dummy
 * hash so their timing matches a real account's.
 */
export class PasswordHasher {
  private readonly semaphore: Semaphore;
  private readonly options: { algorithm: Algorithm; memoryCost: number; timeCost: number; parallelism: number };
  private dummyHash: Promise<string> | undefined;

  constructor(settings: { concurrency: number; memoryKiB: number }) {
    this.semaphore = new Semaphore(settings.concurrency);
    // OWASP's second recommended argon2id profile: m=19 MiB, t=2, p=1.
    this.options = { algorithm: ARGON2ID, memoryCost: settings.memoryKiB, timeCost: 2, parallelism: 1 };
  }

  hash(password: string): Promise<string> {
    return this.semaphore.run(() => hash(password, this.options));
  }

  async verify(passwordHash: string, password: string): Promise<boolean> {
    return this.semaphore.run(async () => {
      try {
        return await verify(passwordHash, password);
      } catch {
        return false; // a corrupt hash never authenticates
      }
    });
  }

  /** Spends the same effort as a real verification, and always fails. */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash('dmci-dummy-password-for-unknown-users');
    await this.verify(await this.dummyHash, password);
    return false;
  }
}
