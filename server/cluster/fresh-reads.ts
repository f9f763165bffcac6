import type { DirectoryReadLease } from './directory-read-lease.ts';

/** Keys held at most; past it, entries no longer trusted are dropped. */
const MAX_KEYS = 10_000;
/**
 * A search finding a read older than this share of the window starts a fresh
 * one in the background. Late enough that steady traffic reads each key about
 * once per 3/4 window (each read is a PostgreSQL round trip that both
 * processes pay for), early enough that the read (a millisecond) returns long
 * before the old one stops being trusted.
 */
const REFRESH_AT = 3 / 4;

interface Held<V> {
  current?: { value: V; sentAt: number };
  inflight?: { promise: Promise<V>; sentAt: number };
  /** A background refresh is due to start once the current turn of the event loop ends. */
  refreshing?: boolean;
}

/**
 * Reads of one kind (a GAL scope's version, an account's privileges) that a
 * node may answer from while its read lease trusts them
 * (directory-read-lease.ts). Past REFRESH_AT of the window a fresh read starts in the
 * background, so steady traffic never waits for one; a search finding
 * nothing trusted waits for a read sent since (a shared one when in flight).
 */
export class FreshReads<K, V> {
  private readonly held = new Map<K, Held<V>>();

  constructor(
    private readonly lease: DirectoryReadLease,
    private readonly read: (key: K) => Promise<V>,
  ) {}

  get(key: K): Promise<V> {
    const { lease } = this;
    let held = this.held.get(key);
    if (!held) {
      if (this.held.size >= MAX_KEYS) this.sweep();
      this.held.set(key, (held = {}));
    }
    const { current, inflight } = held;
    if (current && lease.trusts(current.sentAt)) {
      if (!inflight && !held.refreshing && lease.clock.now() - current.sentAt >= lease.windowMs * REFRESH_AT) this.refreshSoon(key, held);
      return Promise.resolve(current.value);
    }
    if (inflight && lease.trusts(inflight.sentAt)) return inflight.promise;
    return this.start(key, held);
  }

  /**
   * Starts a background refresh after the current turn of the event loop:
   * the search that noticed the read aging answers first (building and
   * sending a query is work its client would otherwise wait for). The read's
   * sentAt is taken when it is sent, so the delay never extends its trust.
   */
  private refreshSoon(key: K, held: Held<V>): void {
    held.refreshing = true;
    setImmediate(() => {
      held.refreshing = false;
      if (!held.inflight) this.start(key, held).catch(() => {});
    });
  }

  private start(key: K, held: Held<V>): Promise<V> {
    const sentAt = this.lease.clock.now();
    const promise = this.read(key);
    held.inflight = { promise, sentAt };
    const settle = () => {
      if (held.inflight?.promise === promise) held.inflight = undefined;
    };
    promise.then(
      (value) => {
        settle();
        if (!held.current || held.current.sentAt < sentAt) held.current = { value, sentAt };
      },
      settle,
    );
    return promise;
  }

  private sweep(): void {
    for (const [key, held] of this.held) if (!held.inflight && !(held.current && this.lease.trusts(held.current.sentAt))) this.held.delete(key);
  }
}
