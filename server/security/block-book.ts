import { BlockList, isIP } from 'node:net';

/** A block the login guard starts: the key (an address, or a /24 or /64 written as CIDR), until when, and why. */
export interface BlockStart {
  key: string;
  untilMs: number;
  reason: string;
}

/**
 * Where blocks are kept. The login guard asks it and tells it; the node's
 * ScreenState (screen-state.ts) is the book every node shares through
 * PostgreSQL, LocalBlockBook the in-memory one of a guard on its own (the
 * CLI, unit tests).
 */
export interface BlockBook {
  /** Milliseconds the exact key remains blocked, or 0 or less. */
  remaining(key: string, now: number): number;
  /** Milliseconds the address remains blocked — by its own block, its neighbourhood's, or an admin's CIDR block — or 0 or less. */
  remainingFor(address: string, neighbourhood: string, now: number): number;
  /** The guard started a block. */
  start(block: BlockStart): void;
}

interface Held {
  untilMs: number;
  /** For a CIDR block an admin set: its matcher. */
  cidr?: BlockList | undefined;
}

/** Blocks in memory, by key; CIDR blocks other than a neighbourhood are matched by prefix. */
export class BlockTable {
  private readonly exact = new Map<string, Held>();
  /** Blocks an admin set on a CIDR other than an address's own neighbourhood key: few, checked one by one. */
  private readonly ranges = new Map<string, Held>();

  set(key: string, untilMs: number, options: { range?: boolean } = {}): void {
    if (options.range) this.ranges.set(key, { untilMs, cidr: cidrMatcher(key) });
    else this.exact.set(key, { untilMs });
  }

  delete(key: string): void {
    this.exact.delete(key);
    this.ranges.delete(key);
  }

  remaining(key: string, now: number): number {
    return Math.max((this.exact.get(key)?.untilMs ?? 0) - now, (this.ranges.get(key)?.untilMs ?? 0) - now);
  }

  remainingFor(address: string, neighbourhood: string, now: number): number {
    let longest = Math.max(this.remaining(address, now), this.remaining(neighbourhood, now));
    const family = isIP(address);
    for (const held of this.ranges.values()) {
      if (held.untilMs - now > longest && held.cidr?.check(address, family === 6 ? 'ipv6' : 'ipv4')) longest = held.untilMs - now;
    }
    return longest;
  }

  /** Forgets blocks that ended before `now`. */
  sweep(now: number): void {
    for (const table of [this.exact, this.ranges]) for (const [key, held] of table) if (held.untilMs <= now) table.delete(key);
  }

  keys(): string[] {
    return [...this.exact.keys(), ...this.ranges.keys()];
  }
}

export class LocalBlockBook implements BlockBook {
  private readonly table = new BlockTable();
  private starts = 0;

  remaining(key: string, now: number): number {
    return this.table.remaining(key, now);
  }

  remainingFor(address: string, neighbourhood: string, now: number): number {
    return this.table.remainingFor(address, neighbourhood, now);
  }

  start(block: BlockStart): void {
    this.table.set(block.key, block.untilMs);
    // Ended blocks go now and then, so a long-running guard's table stays the size of its live blocks.
    if (++this.starts % 1024 === 0) this.table.sweep(Date.now());
  }
}

/** A BlockList holding one address or CIDR block, or undefined for text that is neither. */
export function cidrMatcher(text: string): BlockList | undefined {
  const [address, bits, ...rest] = text.split('/');
  const family = address === undefined ? 0 : isIP(address);
  if (rest.length > 0 || family === 0) return undefined;
  const list = new BlockList();
  const type = family === 6 ? 'ipv6' : 'ipv4';
  if (bits === undefined) list.addAddress(address!, type);
  else if (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) list.addSubnet(address!, Number(bits), type);
  else return undefined;
  return list;
}
