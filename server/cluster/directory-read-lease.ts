import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { kindOf, ScopeKind } from '../sync/scope-id.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';

/**
 * Read-your-writes across nodes without a PostgreSQL round trip per LDAP
 * search (DESIGN §4, §8; docs/decisions.md "LDAP searches without a round
 * trip: read leases and a commit wait").
 *
 * The contract, with W = DMCI_DIRECTORY_READ_WINDOW_MS:
 *
 * - **Readers** (a node's LDAP door) may answer from a directory read (the
 *   GAL scope version, a bound account's privileges) *sent* less than W ago,
 *   measured on the node's monotonic clock from before the read left — but
 *   only while the node holds a read lease (a row in directory_read_leases)
 *   that was unbroken since before that read was sent.
 * - **Writers** of the directory or of accounts, after commit and before
 *   acknowledging, look for an unexpired lease; if there is one, they wait W
 *   from the moment the commit returned (`settleDirectoryWrite`).
 *
 * Why that suffices: a search that starts after the acknowledgement uses a
 * read sent after the commit had returned (sent less than W before the
 * search, and the acknowledgement came at least W after the commit), so
 * PostgreSQL took its snapshot after the commit. The lease only tells writers
 * whether anyone relies on the window: a reader trusts reads only from the
 * moment a renewal *returned* (if a writer's lease check missed that renewal,
 * the check ran before it committed, hence before any read the node will
 * trust), and stops trusting when its own view of the lease ends, measured
 * from before the renewal was sent, which is never later than the expiry
 * PostgreSQL recorded (`clock_timestamp()` at the renewal + the duration).
 * Only clock *rates* matter (monotonic clocks, durations), never agreement
 * between machines' clocks.
 *
 * Costs: a directory or account write pays one small read after commit, and
 * W while some node answers LDAP searches (an idle node's lease runs out
 * READ_LEASE_MS after its last search). A node that dies holding a lease
 * costs nothing more than W per write until its lease expires.
 */

/** How long one lease lasts (PostgreSQL's clock); renewed by searches once less than half is left. */
export const READ_LEASE_MS = 30_000;

/** Monotonic milliseconds (performance.now in production; tests drive their own). */
export interface MonotonicClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const monotonicClock: MonotonicClock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A node's read lease: which earlier reads it may still answer from. */
export class DirectoryReadLease {
  /** The lease holds (in this node's conservative view) until then; -Infinity: no lease. */
  private heldUntil = -Infinity;
  /** Reads sent before this moment are never trusted: the lease was not held without a break since. */
  private trustFrom = Infinity;
  private renewing: Promise<void> | undefined;

  constructor(
    private readonly deps: {
      db: Db;
      nodeId: string;
      /** W: how long a read may be answered from; 0 = never (every search reads). */
      windowMs: number;
      log: Logger;
      clock?: MonotonicClock;
      leaseMs?: number;
    },
  ) {}

  get windowMs(): number {
    return this.deps.windowMs;
  }

  get clock(): MonotonicClock {
    return this.deps.clock ?? monotonicClock;
  }

  /**
   * Whether a read sent at `sentAt` may answer now. Also keeps the lease
   * going: past half its life (or without one), a renewal starts in the
   * background; until it returns, reads are made for each search.
   */
  trusts(sentAt: number): boolean {
    const { windowMs } = this.deps;
    if (windowMs <= 0) return false;
    const now = this.clock.now();
    const leaseMs = this.deps.leaseMs ?? READ_LEASE_MS;
    if (this.heldUntil - now < leaseMs / 2) void this.renew();
    return now < this.heldUntil && sentAt >= this.trustFrom && now - sentAt < windowMs;
  }

  /** Starts a renewal unless one runs; resolves when it is done (tests wait on it). */
  renew(): Promise<void> {
    if (this.deps.windowMs <= 0) return Promise.resolve();
    this.renewing ??= this.renewOnce().finally(() => (this.renewing = undefined));
    return this.renewing;
  }

  private async renewOnce(): Promise<void> {
    const { db, nodeId, log } = this.deps;
    const leaseMs = this.deps.leaseMs ?? READ_LEASE_MS;
    const sent = this.clock.now();
    try {
      await sql`insert into directory_read_leases (node_id, expires_at) values (${nodeId}, clock_timestamp() + make_interval(secs => ${leaseMs / 1000}))
        on conflict (node_id) do update set expires_at = excluded.expires_at`.execute(db);
    } catch (error) {
      log.warn({ err: error }, 'directory read lease not renewed; LDAP searches read PostgreSQL each time');
      return;
    }
    const returned = this.clock.now();
    const lapsed = returned >= this.heldUntil;
    // A lease that lapsed (in this node's view) may have been missed by writers meanwhile: trust only reads sent from now on.
    if (lapsed) this.trustFrom = returned;
    this.heldUntil = sent + leaseMs;
    // Rows of nodes long gone (a node without DMCI_NODE_ID gets a new id each start), swept on the rare renewals after a lapse.
    if (lapsed) await sql`delete from directory_read_leases where expires_at < clock_timestamp() - interval '1 day'`.execute(db).catch(() => {});
  }

  /** Gives the lease up (node shutdown): writers stop waiting for this node at once. */
  async release(): Promise<void> {
    this.heldUntil = -Infinity;
    this.trustFrom = Infinity;
    await this.renewing;
    await sql`delete from directory_read_leases where node_id = ${this.deps.nodeId}`.execute(this.deps.db);
  }
}

/**
 * The writer's half: call after a directory or account write committed and
 * before acknowledging it. `committedAt`: the monotonic time the commit
 * returned (now, by default). Waits `windowMs` from then if any node holds an
 * unexpired read lease.
 */
export async function settleDirectoryWrite(db: Db, windowMs: number, options: { committedAt?: number; clock?: MonotonicClock } = {}): Promise<void> {
  if (windowMs <= 0) return;
  const clock = options.clock ?? monotonicClock;
  const committedAt = options.committedAt ?? clock.now();
  const { rows } = await sql<{ held: boolean }>`select exists (select 1 from directory_read_leases where expires_at > clock_timestamp()) as held`.execute(db);
  if (!rows[0]?.held) return;
  for (;;) {
    const left = committedAt + windowMs - clock.now();
    if (left <= 0) return;
    await clock.sleep(Math.ceil(left));
  }
}

/**
 * The directory write path's hook (the publisher writeScopes calls after
 * commit, hence every writeGal of DirectoryService): after a GAL scope's
 * hint went out, the write settles before it is acknowledged. Account
 * transactions settle in AccountService; `dmci import` once at its end.
 */
export function settlingPublisher(publish: ScopePublisher, db: Db, windowMs: number, clock: MonotonicClock = monotonicClock): ScopePublisher {
  return async (scope, modseq) => {
    const committedAt = clock.now();
    await publish(scope, modseq);
    if (kindOf(scope) === ScopeKind.gal) await settleDirectoryWrite(db, windowMs, { committedAt, clock });
  };
}
