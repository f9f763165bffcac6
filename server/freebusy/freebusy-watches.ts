import { randomUUID } from 'node:crypto';
import { encodeFrame, ErrorCode, type MethodArgs, type MethodResult, type PrincipalFreeBusyWire, type PushFrame } from '../../protocol/index.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import { DmciError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Session } from '../sessions/session.ts';
import type { SessionRegistry } from '../sessions/session-registry.ts';
import { parseScope, ScopeKind } from '../sync/scope-id.ts';
import { queryWithLeaves, readFreeBusy, renderPrincipal, withinAnswerBudget, type FreeBusyContext, type FreeBusyWindow, type QueriedLeaf } from './freebusy-query.ts';
import { countingCalendars } from './freebusy.repository.ts';

/**
 * Live free/busy (issue 9 item 5): a session watches up to 100 principals
 * over a window, as the Scheduling Assistant keeps one open. It rides on the
 * same hints as calendar push (DESIGN §4: local at once after commit, other
 * nodes by NOTIFY): a hint for `cal:<id>` of a calendar that counts toward a
 * watched principal's free/busy marks that principal dirty; the watch then
 * reads the dirty principals again (readFreeBusy, the path FreeBusy/query
 * takes) and pushes only those whose answer changed. A hint for the
 * watcher's own `calendars:<accountId>` (every grant change commits there)
 * re-reads all of its principals: rights are authorized again and a revoked
 * viewer gets `noRight`. Settings commit to their own scopes: a hint for a
 * watched account's `availability:<accountId>` (working hours, out of office,
 * which calendars count and their visibility) re-reads that principal after
 * finding its counting calendars again; one for `availability-defaults:<domainId>`
 * re-reads the principals of that domain. Watches end with the session. One
 * per session; a new FreeBusy/watch replaces it.
 *
 * Not a PushHub feed: a watch is a view derived from many scopes, with no
 * modseq of its own to resume from; the frames are those of push (`push`,
 * scope `freebusy:<watchId>`, a counter as state) and go through the same
 * per-socket output budget.
 */

interface Watch {
  readonly id: string;
  readonly session: Session;
  readonly window: FreeBusyWindow;
  readonly leaves: Map<string, QueriedLeaf>;
  /** calendar id → entry ids of the watched principals it counts for. */
  readonly calendars: Map<string, string[]>;
  /** entry id → the rendered entry last sent, as JSON. */
  readonly last: Map<string, string>;
  readonly dirty: Set<string>;
  /** Entry ids whose counting calendars must be found again before they are read (their owner changed which calendars count). */
  readonly recount: Set<string>;
  seq: number;
  processing: boolean;
  closed: boolean;
}

export interface FreeBusyWatchOptions {
  ctx: FreeBusyContext;
  bus: Pick<ClusterBus, 'on'>;
  sessions: Pick<SessionRegistry, 'on' | 'get'>;
  log: Logger;
  /** Above this many queued bytes a socket gets a resync mark instead of entries. */
  highWaterBytes: number;
  clock: () => Date;
}

export class FreeBusyWatches {
  private readonly bySession = new Map<string, Watch>();
  private readonly byCalendar = new Map<string, Set<Watch>>();

  constructor(private readonly options: FreeBusyWatchOptions) {
    options.bus.on('hint', (hint) => {
      if (hint.kind !== 'scope') return;
      const scope = parseScope(hint.scope);
      if (scope?.kind === ScopeKind.calendar) {
        for (const watch of this.byCalendar.get(scope.key) ?? []) this.markDirty(watch, watch.calendars.get(scope.key)!);
      } else if (scope?.kind === ScopeKind.calendarList) {
        for (const watch of this.bySession.values()) if (watch.session.account.id === scope.key) this.markDirty(watch, [...watch.leaves.keys()]);
      } else if (scope?.kind === ScopeKind.availability) {
        for (const watch of this.bySession.values()) {
          const ids = [...watch.leaves].filter(([, leaf]) => leaf.entry.account_id === scope.key).map(([id]) => id);
          for (const id of ids) watch.recount.add(id);
          if (ids.length > 0) this.markDirty(watch, ids);
        }
      } else if (scope?.kind === ScopeKind.availabilityDefaults) {
        for (const watch of this.bySession.values()) {
          const ids = [...watch.leaves].filter(([, leaf]) => leaf.entry.domain_id === scope.key).map(([id]) => id);
          if (ids.length > 0) this.markDirty(watch, ids);
        }
      }
    });
    options.sessions.on('removed', (session) => this.unwatch(session));
  }

  get size(): number {
    return this.bySession.size;
  }

  /** Starts (or replaces) the session's watch; answers as FreeBusy/query does, plus the watch's scope name. */
  async watch(session: Session, args: MethodArgs<'FreeBusy/watch'>): Promise<MethodResult<'FreeBusy/watch'>> {
    const viewer = { accountId: session.account.id, domainId: session.account.domainId };
    const { answer, window, leaves } = await queryWithLeaves(this.options.ctx, viewer, args, this.options.clock());
    const calendars = new Map<string, string[]>();
    for (const c of await countingCalendars(this.options.ctx.db, leaves.map((l) => l.entry))) calendars.set(c.id, [...(calendars.get(c.id) ?? []), c.entry_id]);
    if (this.options.sessions.get(session.id) !== session) throw new DmciError(ErrorCode.UNAVAILABLE, 'session is closing');
    this.unwatch(session);
    const watch: Watch = {
      id: randomUUID(),
      session,
      window,
      leaves: new Map(leaves.map((l) => [l.entry.entry_id, l])),
      calendars,
      last: new Map(),
      dirty: new Set(),
      recount: new Set(),
      seq: 0,
      processing: false,
      closed: false,
    };
    for (const [entryId, leaf] of watch.leaves) {
      const sent = answer.principals.find((p) => p.principal === leaf.principal && p.via === leaf.via);
      if (sent) watch.last.set(entryId, JSON.stringify(sent));
    }
    this.bySession.set(session.id, watch);
    for (const id of calendars.keys()) this.follow(watch, id);
    return { ...answer, watch: scopeOf(watch), state: String(watch.seq) };
  }

  unwatch(session: Session): void {
    const watch = this.bySession.get(session.id);
    if (!watch) return;
    watch.closed = true;
    this.bySession.delete(session.id);
    for (const id of watch.calendars.keys()) {
      const set = this.byCalendar.get(id);
      set?.delete(watch);
      if (set?.size === 0) this.byCalendar.delete(id);
    }
  }

  private follow(watch: Watch, calendarId: string): void {
    let set = this.byCalendar.get(calendarId);
    if (!set) this.byCalendar.set(calendarId, (set = new Set()));
    set.add(watch);
  }

  /** Finds the counting calendars of `entryIds` again and follows what now counts (and no longer what does not). */
  private async recount(watch: Watch, entryIds: readonly string[]): Promise<void> {
    const now = await countingCalendars(this.options.ctx.db, entryIds.map((id) => watch.leaves.get(id)!.entry));
    if (watch.closed) return;
    const again = new Set(entryIds);
    for (const [calendarId, owners] of [...watch.calendars]) {
      const kept = owners.filter((id) => !again.has(id));
      if (kept.length > 0) watch.calendars.set(calendarId, kept);
      else {
        watch.calendars.delete(calendarId);
        const set = this.byCalendar.get(calendarId);
        set?.delete(watch);
        if (set?.size === 0) this.byCalendar.delete(calendarId);
      }
    }
    for (const c of now) {
      watch.calendars.set(c.id, [...(watch.calendars.get(c.id) ?? []), c.entry_id]);
      this.follow(watch, c.id);
    }
  }

  private markDirty(watch: Watch, entryIds: readonly string[]): void {
    for (const id of entryIds) watch.dirty.add(id);
    if (!watch.processing) void this.process(watch);
  }

  private async process(watch: Watch): Promise<void> {
    watch.processing = true;
    try {
      while (watch.dirty.size > 0 && !watch.closed) {
        const ids = [...watch.dirty];
        watch.dirty.clear();
        if (watch.recount.size > 0) {
          const again = [...watch.recount];
          watch.recount.clear();
          await this.recount(watch, again);
        }
        const leaves = ids.map((id) => watch.leaves.get(id)!);
        const viewer = { kind: 'account' as const, domainId: watch.session.account.domainId, accountId: watch.session.account.id };
        const read = await readFreeBusy(this.options.ctx, viewer, leaves.map((l) => l.entry), watch.window.from, watch.window.to);
        const changed: PrincipalFreeBusyWire[] = [];
        for (const leaf of leaves) {
          const entry = renderPrincipal(leaf.principal, leaf.entry.kind, leaf.via, read.get(leaf.entry.entry_id)!, watch.window);
          const text = JSON.stringify(entry);
          if (watch.last.get(leaf.entry.entry_id) === text) continue;
          watch.last.set(leaf.entry.entry_id, text);
          changed.push(entry);
        }
        if (changed.length > 0 && !watch.closed) this.send(watch, changed);
      }
    } catch (error) {
      this.options.log.warn({ err: error, watch: watch.id }, 'free/busy watch update failed; sending a resync mark');
      this.sendResync(watch);
    } finally {
      watch.processing = false;
    }
  }

  private send(watch: Watch, changed: PrincipalFreeBusyWire[]): void {
    if (watch.session.transport.bufferedAmount >= this.options.highWaterBytes) return this.sendResync(watch);
    // A push is bounded like an answer (maxAnswerBytes): entries cut short carry cutAt; past it even so, a resync mark.
    let principals: PrincipalFreeBusyWire[];
    try {
      principals = withinAnswerBudget(changed, watch.window.from.getTime());
    } catch (error) {
      if (error instanceof DmciError && error.code === ErrorCode.LIMIT_EXCEEDED) return this.sendResync(watch);
      throw error;
    }
    const { from, to, intervalMinutes } = watch.window;
    const oldState = String(watch.seq++);
    const frame: PushFrame = {
      type: 'push',
      scope: scopeOf(watch),
      oldState,
      newState: String(watch.seq),
      changes: { from: from.toISOString(), to: to.toISOString(), interval: intervalMinutes, principals },
    };
    watch.session.transport.sendEncoded(encodeFrame(frame));
  }

  /** The client cannot apply what it missed: it asks FreeBusy/query (or watches again). */
  private sendResync(watch: Watch): void {
    watch.session.transport.sendEncoded(encodeFrame({ type: 'push', scope: scopeOf(watch), newState: String(++watch.seq), resync: true } satisfies PushFrame));
  }
}

function scopeOf(watch: Watch): string {
  return `freebusy:${watch.id}`;
}
