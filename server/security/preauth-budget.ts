/**
 * What one address may spend before authenticating (DESIGN §7 caps;
 * docs/security.md "Before authentication"), per node and in memory: within
 * each window of `windowMs`, at most `maxConnections` new connections and, on
 * sockets not yet authenticated, `maxFrames` frames and `maxBytes` bytes.
 * Past any of them the address's new connections are refused at the upgrade
 * (HTTP 429) and its unauthenticated sockets closed (4008) until the window
 * ends. Trusted hosts never reach this class.
 *
 * The window is fixed per address (it starts with the address's first
 * connection): simple and constant memory per address. At most `maxTracked`
 * addresses are remembered; past that the oldest windows are forgotten
 * first, which can only ever favour an attacker who rotates through more
 * addresses than that — the per-connection limits still hold for them.
 */
export interface PreAuthBudgetSettings {
  windowMs: number;
  maxConnections: number;
  maxFrames: number;
  maxBytes: number;
  /** Addresses tracked at most (memory bound); default 100,000. */
  maxTracked?: number;
  now?: () => number;
}

interface Spent {
  windowStart: number;
  connections: number;
  frames: number;
  bytes: number;
}

export type PreAuthRefusal = 'connections' | 'frames' | 'bytes';

export class PreAuthBudget {
  private readonly spent = new Map<string, Spent>();
  private readonly now: () => number;

  constructor(private readonly settings: PreAuthBudgetSettings) {
    this.now = settings.now ?? Date.now;
  }

  /** Counts a new connection; returns why the address is over its budget, or null. */
  admitConnection(address: string): PreAuthRefusal | null {
    const spent = this.current(address);
    spent.connections++;
    return this.over(spent);
  }

  /** Counts one frame of `bytes` on an unauthenticated socket; returns why the address is over budget, or null. */
  admitFrame(address: string, bytes: number): PreAuthRefusal | null {
    const spent = this.current(address);
    spent.frames++;
    spent.bytes += bytes;
    return this.over(spent);
  }

  /** Milliseconds until the address's window ends (for Retry-After). */
  retryAfterMs(address: string): number {
    const spent = this.spent.get(address);
    return spent ? Math.max(0, spent.windowStart + this.settings.windowMs - this.now()) : 0;
  }

  private over(spent: Spent): PreAuthRefusal | null {
    if (spent.connections > this.settings.maxConnections) return 'connections';
    if (spent.frames > this.settings.maxFrames) return 'frames';
    if (spent.bytes > this.settings.maxBytes) return 'bytes';
    return null;
  }

  private current(address: string): Spent {
    const now = this.now();
    let spent = this.spent.get(address);
    if (spent && now - spent.windowStart >= this.settings.windowMs) {
      this.spent.delete(address);
      spent = undefined;
    }
    if (!spent) {
      if (this.spent.size >= (this.settings.maxTracked ?? 100_000)) this.forgetOldest(now);
      spent = { windowStart: now, connections: 0, frames: 0, bytes: 0 };
      this.spent.set(address, spent); // insertion order = window start order
    }
    return spent;
  }

  private forgetOldest(now: number): void {
    for (const [address, spent] of this.spent) {
      if (this.spent.size < (this.settings.maxTracked ?? 100_000) && now - spent.windowStart < this.settings.windowMs) return;
      this.spent.delete(address);
    }
  }
}
