import { BlockList, isIP } from 'node:net';

/**
 * Static allow/deny lists checked before the WebSocket upgrade, plus the
 * trusted hosts that are exempt from screening and tarpits (never from
 * authentication). An empty allow list allows everyone not denied.
 */
export class IpScreen {
  private allow: BlockList | undefined;
  private deny!: BlockList;
  private trusted!: BlockList;
  /**
   * isTrusted per address, until the lists change: BlockList.check costs
   * ~30 µs (it parses the address each time), and a flood asks it for every
   * refused frame and connection of the same few addresses.
   */
  private readonly trustedVerdicts = new Map<string, boolean>();

  constructor(lists: { allow: string[]; deny: string[]; trusted: string[] }) {
    this.setLists(lists);
  }

  /** Replaces the lists (the configured ones joined with those in PostgreSQL: screen-state.ts). */
  setLists(lists: { allow: string[]; deny: string[]; trusted: string[] }): void {
    this.allow = lists.allow.length > 0 ? toBlockList(lists.allow) : undefined;
    this.deny = toBlockList(lists.deny);
    this.trusted = toBlockList(lists.trusted);
    this.trustedVerdicts.clear();
  }

  isTrusted(address: string): boolean {
    let verdict = this.trustedVerdicts.get(address);
    if (verdict === undefined) {
      verdict = matches(this.trusted, address);
      // Bounded: many distinct addresses (a distributed attack) start the memo afresh rather than grow it.
      if (this.trustedVerdicts.size >= MAX_REMEMBERED_ADDRESSES) this.trustedVerdicts.clear();
      this.trustedVerdicts.set(address, verdict);
    }
    return verdict;
  }

  /** Why the address is refused, or undefined when it may connect. */
  refusal(address: string): string | undefined {
    if (this.isTrusted(address)) return undefined;
    if (matches(this.deny, address)) return 'address is on the deny list';
    if (this.allow && !matches(this.allow, address)) return 'address is not on the allow list';
    return undefined;
  }
}

/** Addresses whose trusted verdict is remembered at most (a few hundred KiB). */
const MAX_REMEMBERED_ADDRESSES = 10_000;

export function normaliseAddress(address: string | undefined): string {
  if (!address) return '0.0.0.0';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function toBlockList(cidrs: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address, bits] = cidr.split('/') as [string, string | undefined];
    const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, family);
    else list.addSubnet(address, Number(bits), family);
  }
  return list;
}

function matches(list: BlockList, address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  return list.check(address, family === 6 ? 'ipv6' : 'ipv4');
}
