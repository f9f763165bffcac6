import type { Actor } from '../accounts/actor.ts';
import type { ClusterBus, Hint } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { BlockTable, type BlockBook, type BlockStart } from './block-book.ts';
import type { HostScreen } from './host-screen.ts';
import type { IpScreen } from './ip-screen.ts';
import { activeBlocks, listRules } from './screen.repository.ts';
import type { ConfiguredLists, ScreenService } from './screen.service.ts';

/**
 * This node's copy of the screening state every node shares through
 * PostgreSQL (issue 12): the blocks its login guard consults (it is the
 * guard's BlockBook) and the trusted and allow/deny lists its doors check.
 *
 * It re-reads the state when a `screen` hint arrives (any node, or the CLI,
 * changed it: ScreenService sends one at commit), after the LISTEN
 * connection comes back (`resync`), and every DMCI_SCREEN_POLL_MS as a
 * fallback, so a block or an unblock anywhere holds here within moments and
 * a lost hint costs at most one poll interval.
 *
 * A block this node's guard starts holds here at once; it is stored (and
 * announced) in the background and kept in force locally until a re-read
 * begun after it was stored includes it.
 */
export class ScreenState implements BlockBook {
  private table = new BlockTable();
  /** Blocks this node started: until when, and when they were stored (undefined: not yet). */
  private readonly pending = new Map<string, { untilMs: number; storedAt?: number }>();
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private persist: ((block: BlockStart) => Promise<unknown>) | undefined;
  private readonly onHint = (hint: Hint, { local }: { local: boolean }) => {
    if (hint.kind === 'screen' && !local) this.refresh();
  };
  private readonly onResync = () => this.refresh();

  constructor(
    private readonly deps: {
      db: Db;
      bus: Pick<ClusterBus, 'on' | 'off' | 'publish'>;
      log: Logger;
      configured: ConfiguredLists;
      ipScreen: IpScreen;
      hostScreen: HostScreen;
      pollMs: number;
    },
  ) {}

  /** Reads the state, then follows it. Guard blocks are stored through the service, in the name of this node. */
  async follow(screen: ScreenService, nodeId: string): Promise<void> {
    const node: Actor = { kind: 'system', via: `node:${nodeId}` };
    this.persist = (block) => screen.recordGuardBlock(block, node);
    await this.read();
    this.deps.bus.on('hint', this.onHint);
    this.deps.bus.on('resync', this.onResync);
    this.timer = setInterval(() => this.refresh(), this.deps.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.deps.bus.off('hint', this.onHint);
    this.deps.bus.off('resync', this.onResync);
    await this.reading;
  }

  // ---- BlockBook ----

  remaining(key: string, now: number): number {
    return Math.max(this.table.remaining(key, now), (this.pending.get(key)?.untilMs ?? 0) - now);
  }

  remainingFor(address: string, neighbourhood: string, now: number): number {
    return Math.max(this.table.remainingFor(address, neighbourhood, now), this.remaining(address, now), this.remaining(neighbourhood, now));
  }

  start(block: BlockStart): void {
    const entry: { untilMs: number; storedAt?: number } = { untilMs: block.untilMs };
    this.pending.set(block.key, entry);
    const store = this.persist;
    if (!store) return;
    store(block).then(
      () => (entry.storedAt = Date.now()),
      (error: unknown) => this.deps.log.error({ err: error, key: block.key }, 'could not store a block: it holds on this node only until it ends'),
    );
  }

  // ---- reading ----

  /** Re-reads soon; reads that pile up while one runs become one more. */
  refresh(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.read()
      .catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not re-read the screening state; keeping the last one'))
      .finally(() => {
        this.reading = undefined;
        if (this.again) {
          this.again = false;
          this.refresh();
        }
      });
  }

  private async read(): Promise<void> {
    const startedAt = Date.now();
    const [blocks, rules] = await Promise.all([activeBlocks(this.deps.db), listRules(this.deps.db)]);
    const table = new BlockTable();
    // An admin's range is matched by prefix; a guard's neighbourhood key is looked up as it is.
    for (const row of blocks) table.set(row.key, row.blocked_until.getTime(), { range: row.source === 'admin' && row.key.includes('/') });
    for (const [key, entry] of this.pending) {
      if (entry.untilMs <= startedAt || (entry.storedAt !== undefined && entry.storedAt <= startedAt)) this.pending.delete(key);
    }
    this.table = table;

    const lists = { ...this.deps.configured } as Record<keyof ConfiguredLists, string[]>;
    for (const key of Object.keys(lists) as Array<keyof ConfiguredLists>) lists[key] = [...this.deps.configured[key]];
    for (const rule of rules) lists[rule.list].push(rule.value);
    this.deps.ipScreen.setLists({ allow: lists.ip_allow, deny: lists.ip_deny, trusted: lists.trusted });
    this.deps.hostScreen.setLists({ allow: lists.host_allow, deny: lists.host_deny });
  }

  /** Blocks in force on this node right now (for the active-blocks gauge). */
  get size(): number {
    return new Set([...this.table.keys(), ...this.pending.keys()]).size;
  }
}
