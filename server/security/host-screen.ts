import { lookup, lookupService } from 'node:dns/promises';

/**
 * The host screen of DESIGN §7: allow and deny lists of host names, matched
 * against the client's forward-confirmed reverse DNS name (FCrDNS) before the
 * WebSocket upgrade. A name only counts if it resolves back to the address:
 * anyone can make their address's PTR record say `mail.bank.example`, but not
 * make that name resolve to their address.
 *
 * Patterns are exact names (`gw.example.com`) or suffix wildcards
 * (`*.example.com`, matching any name below example.com). With an allow list,
 * an address without a confirmed name is refused. Results are cached per
 * address (DMCI_HOST_SCREEN_TTL_MS) so reconnect storms do not become DNS
 * storms, and a lookup that takes longer than 2 s counts as "no name".
 */
export interface HostResolver {
  /** The address's name from the system resolver (/etc/hosts, then DNS PTR), or undefined. */
  reverse(address: string): Promise<string | undefined>;
  /** The addresses a name resolves to. */
  forward(name: string): Promise<string[]>;
}

export const systemResolver: HostResolver = {
  reverse: (address) => lookupService(address, 0).then((r) => r.hostname, () => undefined),
  forward: (name) => lookup(name, { all: true }).then((list) => list.map((a) => a.address), () => []),
};

const LOOKUP_TIMEOUT_MS = 2000;
const MAX_CACHED = 10_000;

export class HostScreen {
  private readonly cache = new Map<string, { name: string | undefined; until: number }>();
  private readonly pending = new Map<string, Promise<string | undefined>>();

  constructor(
    private lists: { allow: string[]; deny: string[] },
    private readonly options: { ttlMs: number; resolver?: HostResolver; now?: () => number } = { ttlMs: 300_000 },
  ) {}

  /** Replaces the lists (the configured ones joined with those in PostgreSQL: screen-state.ts). Cached names stay valid. */
  setLists(lists: { allow: string[]; deny: string[] }): void {
    this.lists = lists;
  }

  /** False when no host list is configured: then no lookups happen at all. */
  get enabled(): boolean {
    return this.lists.allow.length > 0 || this.lists.deny.length > 0;
  }

  /** Why the address is refused, or undefined when it may connect. */
  async refusal(address: string): Promise<string | undefined> {
    if (!this.enabled) return undefined;
    const name = await this.confirmedName(address);
    if (name && this.lists.deny.some((pattern) => matchesHost(pattern, name))) return `host ${name} is on the deny list`;
    if (this.lists.allow.length > 0 && !(name && this.lists.allow.some((pattern) => matchesHost(pattern, name)))) {
      return name ? `host ${name} is not on the allow list` : 'address has no forward-confirmed host name and an allow list is set';
    }
    return undefined;
  }

  /** The address's forward-confirmed name, cached. */
  confirmedName(address: string): Promise<string | undefined> {
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(address);
    if (cached && cached.until > now) return Promise.resolve(cached.name);
    let running = this.pending.get(address);
    if (!running) {
      running = withTimeout(this.resolve(address), LOOKUP_TIMEOUT_MS).then((name) => {
        if (this.cache.size >= MAX_CACHED) this.cache.clear();
        this.cache.set(address, { name, until: now + this.options.ttlMs });
        this.pending.delete(address);
        return name;
      });
      this.pending.set(address, running);
    }
    return running;
  }

  private async resolve(address: string): Promise<string | undefined> {
    const resolver = this.options.resolver ?? systemResolver;
    const name = (await resolver.reverse(address))?.toLowerCase().replace(/\.$/, '');
    if (!name) return undefined;
    const addresses = await resolver.forward(name);
    return addresses.includes(address) ? name : undefined;
  }
}

export function matchesHost(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase();
  return p.startsWith('*.') ? name.endsWith(p.slice(1)) : name === p;
}

/** A host pattern as DMCI_HOST_ALLOW / DMCI_HOST_DENY accept it. */
export function isHostPattern(text: string): boolean {
  return /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(text) && text.length <= 253;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
