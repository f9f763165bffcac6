import { encodeFrame, ErrorCode, type ErrorBody, type PushFrame } from '../../protocol/index.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import { DmciError, toDmciError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { Session } from '../sessions/session.ts';
import type { SessionRegistry } from '../sessions/session-registry.ts';
import { kindOf } from './scope-id.ts';
import { readScope, readScopes } from './sync-scope.repository.ts';
import { decodeState, encodeState } from './state-token.ts';

/**
 * A feature's side of push: who may follow its scopes, and what changed.
 * Registered per scope kind (scope-id.ts).
 */
export interface ScopeFeed {
  /**
   * Decides whether the session may follow the scope and at which view level
   * (sessions with the same view key receive the same bytes). Throws
   * DmciError (FORBIDDEN / NOT_FOUND) when it may not.
   */
  authorize(session: Session, scopeId: string): Promise<string>;
  /**
   * The changes in (fromModseq, toModseq] as this view level may see them —
   * the same shape as the feature's `/changes` result — or null when they are
   * too many or too large to push (the client then gets a resync mark).
   */
  loadChanges(scopeId: string, fromModseq: number, toModseq: number, viewKey: string): Promise<unknown | null>;
}

interface Follower {
  readonly session: Session;
  readonly viewKey: string;
  /** The state this follower's replica has, as far as pushes go. */
  sentModseq: number;
  /** Got a resync mark and has not caught up since: it needs no second one. */
  marked?: boolean;
}

interface FollowedScope {
  readonly id: string;
  readonly feed: ScopeFeed;
  readonly followers: Map<string, Follower>;
  knownModseq: number;
  processing: boolean;
  dirty: boolean;
}

export interface PushHubOptions {
  db: Db;
  bus: ClusterBus;
  sessions: SessionRegistry;
  metrics: Metrics;
  log: Logger;
  /** Above this many queued bytes a socket gets resync marks instead of deltas. */
  highWaterBytes: number;
  /** Backstop poll of followed scopes, for hints lost between commit and NOTIFY. */
  pollIntervalMs: number;
  /** Scopes one session may follow. */
  maxScopesPerSession: number;
}

/**
 * Fans committed changes out to the sessions that follow a scope (DESIGN §4).
 *
 * A hint (local at once, other nodes by NOTIFY, or the backstop poll) marks
 * a scope dirty; one worker per scope then reads the scope's committed
 * modseq, groups followers by (view level, state they have), loads each
 * group's changes once, encodes the frame once and sends the same bytes to
 * every member. Within a scope commit order equals modseq order, so a push
 * for (old, new] never misses a commit. A lost push loses nothing: the
 * client's `oldState` check sends it to `/changes`.
 */
export class PushHub {
  private readonly feeds = new Map<string, ScopeFeed>();
  private readonly accessKinds = new Map<string, (scopeId: string) => string>();
  private readonly scopes = new Map<string, FollowedScope>();
  private readonly bySession = new Map<string, Set<string>>();
  private readonly pollTimer: NodeJS.Timeout;

  constructor(private readonly options: PushHubOptions) {
    options.bus.on('hint', (hint) => {
      if (hint.kind !== 'scope') return;
      this.markDirty(hint.scope, hint.modseq);
      const accountOf = this.accessKinds.get(kindOf(hint.scope));
      if (accountOf) this.reauthorizeAccount(accountOf(hint.scope));
    });
    options.bus.on('resync', () => this.pollAll());
    options.sessions.on('removed', (session) => this.dropSession(session));
    this.pollTimer = setInterval(() => this.pollAll(), options.pollIntervalMs);
    this.pollTimer.unref();
  }

  registerFeed(kind: string, feed: ScopeFeed): void {
    this.feeds.set(kind, feed);
  }

  /**
   * Declares that a commit in a scope of this kind may change what an
   * account may follow (a calendar shared or unshared, private access
   * granted or taken): that account's followers are authorized again, so a
   * revoked reader stops receiving pushes at once, on every node.
   */
  registerAccessScope(kind: string, accountOf: (scopeId: string) => string): void {
    this.accessKinds.set(kind, accountOf);
  }

  /** Follows a scope from the client's `state` (or from now). Returns the scope's current state. */
  async follow(session: Session, scopeId: string, state?: string): Promise<string> {
    const feed = this.feeds.get(kindOf(scopeId));
    if (!feed) throw new DmciError(ErrorCode.NOT_FOUND, `no such scope ${scopeId}`);
    const viewKey = await feed.authorize(session, scopeId);
    const current = await readScope(this.options.db, scopeId);
    if (!current) throw new DmciError(ErrorCode.NOT_FOUND, `no such scope ${scopeId}`);
    const followed = this.bySession.get(session.id);
    if (!followed?.has(scopeId) && (followed?.size ?? 0) >= this.options.maxScopesPerSession) {
      throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a session may follow at most ${this.options.maxScopesPerSession} scopes`);
    }
    if (this.options.sessions.get(session.id) !== session) throw new DmciError(ErrorCode.UNAVAILABLE, 'session is closing');

    const from = state === undefined ? current.modseq : Math.min(decodeState(state), current.modseq);
    let entry = this.scopes.get(scopeId);
    if (!entry) {
      entry = { id: scopeId, feed, followers: new Map(), knownModseq: current.modseq, processing: false, dirty: false };
      this.scopes.set(scopeId, entry);
    }
    entry.followers.set(session.id, { session, viewKey, sentModseq: from });
    let set = this.bySession.get(session.id);
    if (!set) this.bySession.set(session.id, (set = new Set()));
    set.add(scopeId);
    if (from < current.modseq) this.markDirty(scopeId);
    return encodeState(current.modseq);
  }

  unfollow(session: Session, scopeId: string): void {
    const entry = this.scopes.get(scopeId);
    entry?.followers.delete(session.id);
    if (entry && entry.followers.size === 0 && !entry.processing) this.scopes.delete(scopeId);
    this.bySession.get(session.id)?.delete(scopeId);
  }

  /** Follows several scopes for Push/subscribe; failures are reported per scope. */
  async followMany(session: Session, requests: Array<{ scope: string; state?: string }>) {
    const subscribed: Array<{ scope: string; state: string }> = [];
    const notSubscribed: Record<string, ErrorBody> = {};
    for (const { scope, state } of requests) {
      try {
        subscribed.push({ scope, state: await this.follow(session, scope, state) });
      } catch (error) {
        const dmciError = toDmciError(error);
        if (dmciError.code === ErrorCode.INTERNAL) throw error;
        notSubscribed[scope] = dmciError.toBody();
      }
    }
    return { subscribed, notSubscribed };
  }

  get followedScopeCount(): number {
    return this.scopes.size;
  }

  stop(): void {
    clearInterval(this.pollTimer);
  }

  /**
   * Runs `authorize` again for every scope the account's sessions follow on
   * this node. A follower that lost access is dropped and sent a resync mark
   * (its `/changes` call then answers FORBIDDEN or NOT_FOUND); one whose view
   * level changed gets the new level, and a resync mark so it re-reads at it.
   */
  private reauthorizeAccount(accountId: string): void {
    for (const entry of this.scopes.values()) {
      for (const follower of entry.followers.values()) {
        if (follower.session.account.id !== accountId) continue;
        entry.feed.authorize(follower.session, entry.id).then(
          (viewKey) => {
            if (viewKey === follower.viewKey || entry.followers.get(follower.session.id) !== follower) return;
            entry.followers.set(follower.session.id, { session: follower.session, viewKey, sentModseq: follower.sentModseq });
            this.sendResyncMark(follower.session, entry);
          },
          (error: unknown) => {
            if (toDmciError(error).code === ErrorCode.INTERNAL) {
              this.options.log.warn({ err: error, scope: entry.id }, 'could not re-check a follower; keeping it until the next change');
              return;
            }
            this.unfollow(follower.session, entry.id);
            this.sendResyncMark(follower.session, entry);
          },
        );
      }
    }
  }

  private sendResyncMark(session: Session, entry: FollowedScope): void {
    session.transport.sendEncoded(encodeFrame({ type: 'push', scope: entry.id, newState: encodeState(entry.knownModseq), resync: true } satisfies PushFrame));
  }

  private dropSession(session: Session): void {
    for (const scopeId of this.bySession.get(session.id) ?? []) this.unfollow(session, scopeId);
    this.bySession.delete(session.id);
  }

  private markDirty(scopeId: string, modseq?: number): void {
    const entry = this.scopes.get(scopeId);
    if (!entry) return;
    if (modseq !== undefined && modseq <= entry.knownModseq && !this.anyBehind(entry, entry.knownModseq)) return;
    entry.dirty = true;
    if (!entry.processing) void this.process(entry);
  }

  private anyBehind(entry: FollowedScope, modseq: number): boolean {
    for (const follower of entry.followers.values()) if (follower.sentModseq < modseq) return true;
    return false;
  }

  private pollAll(): void {
    const ids = [...this.scopes.keys()];
    if (ids.length === 0) return;
    readScopes(this.options.db, ids)
      .then((states) => {
        for (const [id, state] of states) {
          const entry = this.scopes.get(id);
          if (entry && state.modseq > entry.knownModseq) this.markDirty(id, state.modseq);
        }
      })
      .catch((error: unknown) => this.options.log.warn({ err: error }, 'push poll failed; will retry'));
  }

  private async process(entry: FollowedScope): Promise<void> {
    entry.processing = true;
    try {
      while (entry.dirty) {
        entry.dirty = false;
        const state = await readScope(this.options.db, entry.id);
        if (!state) {
          this.closeScope(entry);
          return;
        }
        entry.knownModseq = Math.max(entry.knownModseq, state.modseq);
        await this.deliver(entry, entry.knownModseq, state.minModseq);
      }
    } catch (error) {
      this.options.log.warn({ err: error, scope: entry.id }, 'push delivery failed; the backstop poll retries');
    } finally {
      entry.processing = false;
      if (entry.followers.size === 0) this.scopes.delete(entry.id);
    }
  }

  private async deliver(entry: FollowedScope, target: number, minModseq: number): Promise<void> {
    const groups = new Map<string, { viewKey: string; from: number; members: Follower[] }>();
    for (const follower of entry.followers.values()) {
      if (follower.sentModseq >= target) continue;
      const key = `${follower.viewKey}\u0000${follower.sentModseq}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { viewKey: follower.viewKey, from: follower.sentModseq, members: [] }));
      group.members.push(follower);
    }
    let resyncBytes: Uint8Array | undefined;
    const resync = () => (resyncBytes ??= asBuffer(encodeFrame({ type: 'push', scope: entry.id, newState: encodeState(target), resync: true } satisfies PushFrame)));

    for (const group of groups.values()) {
      const ready: Follower[] = [];
      for (const follower of group.members) {
        // Past the close mark the transport itself closes the socket on the next send (gateway/output-budget.ts).
        if (follower.session.transport.bufferedAmount >= this.options.highWaterBytes) {
          // One mark per lag: it already tells the client to call /changes, more would only fill the buffer.
          if (follower.marked) follower.sentModseq = target;
          else if (this.send(follower, resync(), target)) {
            follower.marked = true;
            this.options.metrics.pushFrames.inc({ kind: 'resync' });
          }
        } else {
          ready.push(follower);
        }
      }
      if (ready.length === 0) continue;
      const changes = group.from < minModseq ? null : await entry.feed.loadChanges(entry.id, group.from, target, group.viewKey).catch((error: unknown) => {
        this.options.log.warn({ err: error, scope: entry.id }, 'loading push changes failed; sending a resync mark');
        return null;
      });
      const bytes =
        changes === null
          ? resync()
          : asBuffer(encodeFrame({ type: 'push', scope: entry.id, oldState: encodeState(group.from), newState: encodeState(target), changes } satisfies PushFrame));
      let sent = 0;
      for (const follower of ready) {
        if (this.send(follower, bytes, target)) sent++;
        follower.marked = changes === null;
      }
      this.options.metrics.pushFrames.inc({ kind: changes === null ? 'resync' : 'delta' }, sent);
    }
  }

  private send(follower: Follower, bytes: Uint8Array, target: number): boolean {
    // The follower may have unsubscribed or closed while changes were loading.
    if (this.options.sessions.get(follower.session.id) !== follower.session) return false;
    follower.sentModseq = target;
    return follower.session.transport.sendEncoded(bytes);
  }

  private closeScope(entry: FollowedScope): void {
    const bytes = encodeFrame({ type: 'push', scope: entry.id, newState: encodeState(entry.knownModseq), resync: true } satisfies PushFrame);
    for (const follower of entry.followers.values()) {
      follower.session.transport.sendEncoded(bytes);
      this.bySession.get(follower.session.id)?.delete(entry.id);
    }
    entry.followers.clear();
    this.scopes.delete(entry.id);
  }
}

/** ws would wrap a plain Uint8Array in a new Buffer on every send: wrap it once for the whole fan-out. */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
