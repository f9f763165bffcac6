/**
 * Failed-login defences, per node and in memory (DESIGN §7):
 *
 * - a delay before answering a failed login from an address, doubling with
 *   each failure up to `maxDelayMs` (15 s), reset by a success;
 * - dynamic screening: `failures` failures within `windowMs` from one
 *   address, or from its /24 (IPv4) or /64 (IPv6) neighbourhood (counted at
 *   4× the threshold), block it for `blockMs`, doubling with each new block up
 *   to 24 h. Rapid reconnects count as failures too.
 *
 * Trusted hosts never reach this class.
 */
export interface LoginGuardSettings {
  failures: number;
  windowMs: number;
  blockMs: number;
  maxDelayMs: number;
  now?: () => number;
  /** Addresses and neighbourhoods tracked at most (memory bound); default 100,000. */
  maxTracked?: number;
}

interface Record {
  failureTimes: number[];
  delayMs: number;
  blockedUntil: number;
  blocks: number;
}

const MAX_BLOCK_MS = 24 * 60 * 60_000;
const FIRST_DELAY_MS = 250;
const MAX_TRACKED = 100_000;

export class LoginGuard {
  private readonly records = new Map<string, Record>();
  private readonly now: () => number;

  constructor(private readonly settings: LoginGuardSettings) {
    this.now = settings.now ?? Date.now;
  }

  /** Milliseconds the address remains blocked, or 0. */
  blockedFor(address: string): number {
    const now = this.now();
    const ownBlock = (this.records.get(address)?.blockedUntil ?? 0) - now;
    const netBlock = (this.records.get(neighbourhood(address))?.blockedUntil ?? 0) - now;
    return Math.max(0, ownBlock, netBlock);
  }

  /** Records a failure; returns how long to wait before answering it. */
  recordFailure(address: string): number {
    const own = this.track(address, this.settings.failures);
    this.track(neighbourhood(address), this.settings.failures * 4);
    own.delayMs = own.delayMs === 0 ? FIRST_DELAY_MS : Math.min(own.delayMs * 2, this.settings.maxDelayMs);
    return Math.min(own.delayMs, this.settings.maxDelayMs);
  }

  recordSuccess(address: string): void {
    const record = this.records.get(address);
    if (record) {
      record.delayMs = 0;
      record.failureTimes = [];
    }
  }

  private track(key: string, threshold: number): Record {
    const now = this.now();
    let record = this.records.get(key);
    if (!record) {
      if (this.records.size >= (this.settings.maxTracked ?? MAX_TRACKED)) this.evict();
      record = { failureTimes: [], delayMs: 0, blockedUntil: 0, blocks: 0 };
      this.records.set(key, record);
    }
    record.failureTimes = record.failureTimes.filter((t) => now - t < this.settings.windowMs);
    record.failureTimes.push(now);
    if (record.failureTimes.length >= threshold && record.blockedUntil <= now) {
      record.blocks++;
      record.blockedUntil = now + Math.min(this.settings.blockMs * 2 ** (record.blocks - 1), MAX_BLOCK_MS);
      record.failureTimes = [];
    }
    return record;
  }

  /**
   * Halves the table: records that block nothing go first, then, if blocks
   * alone fill it (many addresses, as from an IPv6 range), the oldest blocks.
   * Without the second pass every new address would rescan a full table.
   */
  private evict(): void {
    const now = this.now();
    const target = (this.settings.maxTracked ?? MAX_TRACKED) / 2;
    for (const [key, record] of this.records) {
      if (this.records.size < target) return;
      if (record.blockedUntil < now) this.records.delete(key);
    }
    for (const key of this.records.keys()) {
      if (this.records.size < target) return;
      this.records.delete(key);
    }
  }

  /** Addresses and neighbourhoods currently tracked. */
  get size(): number {
    return this.records.size;
  }
}

/** The /24 of an IPv4 address or the /64 of an IPv6 one. */
export function neighbourhood(address: string): string {
  if (address.includes(':')) {
    const groups = expandIpv6(address);
    return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return `${address.split('.').slice(0, 3).join('.')}.0/24`;
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...fill, ...tailGroups].map((g) => g.toLowerCase());
}
