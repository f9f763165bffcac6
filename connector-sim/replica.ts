import { readFile, rename, writeFile } from 'node:fs/promises';
import type { PushFrame } from '../protocol/index.ts';
import { DmciRequestError, type DmciClient } from './client.ts';

/**
 * A connector's replica of sync scopes, kept the way docs/protocol.md tells a
 * connector to: `/changes` from the stored state until `hasMoreChanges` is
 * false, then follow the scope with that state; a push whose `oldState`
 * equals the replica's state is applied directly, anything else (or a resync
 * mark) triggers `/changes`; after a reconnect every scope catches up from
 * its stored state and is followed again. One class serves every kind of
 * scope; a `ScopeSource` says how to read one.
 */

/** One page of a scope's `/changes`, in the shape every dmci `/changes` method returns. */
export interface ChangesPage<T> {
  oldState: string | null;
  newState: string;
  hasMoreChanges: boolean;
  created: T[];
  updated: T[];
  destroyed: string[];
}

export interface ScopeSource<T> {
  /** The scope id as push frames name it, e.g. "cal:<id>". */
  readonly scope: string;
  /** Calls the scope's `/changes` method. */
  changes(client: DmciClient, sinceState: string | undefined): Promise<ChangesPage<T>>;
  idOf(object: T): string;
}

export interface ScopeReplicaState<T> {
  state: string | undefined;
  objects: Record<string, T>;
}

export interface ReplicaEvents {
  /** A scope's replica moved to a new state; `via` says how. */
  onApplied?(scope: string, page: { created: number; updated: number; destroyed: number; newState: string; via: 'push' | 'changes' }): void;
  onError?(scope: string, error: unknown): void;
}

export class Replica {
  private readonly sources = new Map<string, ScopeSource<unknown>>();
  private readonly data = new Map<string, ScopeReplicaState<unknown>>();
  /** One catch-up at a time per scope; a request during one runs once more after it. */
  private readonly syncing = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly onPush = (frame: PushFrame) => this.handlePush(frame);
  private readonly onWelcome = () => {
    void this.resubscribeAll().catch((error: unknown) => this.events.onError?.('*', error));
  };

  counters = { pushesApplied: 0, pushesIgnored: 0, changesCalls: 0, fullResyncs: 0 };

  constructor(
    private readonly client: DmciClient,
    private readonly events: ReplicaEvents = {},
  ) {
    client.on('push', this.onPush);
    client.on('welcome', this.onWelcome);
  }

  detach(): void {
    this.client.off('push', this.onPush);
    this.client.off('welcome', this.onWelcome);
  }

  /** Adds a scope (keeping any state loaded for it), catches it up and follows it. */
  async track<T>(source: ScopeSource<T>): Promise<void> {
    this.sources.set(source.scope, source as ScopeSource<unknown>);
    if (!this.data.has(source.scope)) this.data.set(source.scope, { state: undefined, objects: {} });
    await this.catchUp(source.scope);
    await this.subscribe([source.scope]);
  }

  scopes(): string[] {
    return [...this.sources.keys()];
  }

  stateOf(scope: string): string | undefined {
    return this.data.get(scope)?.state;
  }

  objectsOf<T>(scope: string): Record<string, T> {
    return (this.data.get(scope)?.objects ?? {}) as Record<string, T>;
  }

  /** Brings a scope up to date with `/changes` (serialised per scope). */
  catchUp(scope: string): Promise<void> {
    const running = this.syncing.get(scope);
    if (running) {
      this.again.add(scope);
      return running;
    }
    const run = (async () => {
      do {
        this.again.delete(scope);
        await this.pullChanges(scope);
      } while (this.again.has(scope));
    })().finally(() => this.syncing.delete(scope));
    this.syncing.set(scope, run);
    return run;
  }

  /** Waits until no catch-up is running. */
  async settled(): Promise<void> {
    while (this.syncing.size > 0) await Promise.all([...this.syncing.values()]).catch(() => {});
  }

  /** The replica as JSON-ready data: `{scope: {state, objects}}`. */
  snapshot(): Record<string, ScopeReplicaState<unknown>> {
    return Object.fromEntries(this.data);
  }

  restore(snapshot: Record<string, ScopeReplicaState<unknown>>): void {
    for (const [scope, state] of Object.entries(snapshot)) this.data.set(scope, state);
  }

  /** Saves to a JSON file. Saves run one after another, each writing the replica as it is when its turn comes. */
  save(file: string): Promise<void> {
    const run = this.saving.then(async () => {
      // Write-then-rename: a crash mid-write never leaves a half replica behind.
      await writeFile(`${file}.tmp`, JSON.stringify(this.snapshot()));
      await rename(`${file}.tmp`, file);
    });
    this.saving = run.catch(() => {});
    return run;
  }
  private saving: Promise<void> = Promise.resolve();

  async load(file: string): Promise<boolean> {
    try {
      this.restore(JSON.parse(await readFile(file, 'utf8')) as Record<string, ScopeReplicaState<unknown>>);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
  }

  private async subscribe(scopes: string[]): Promise<void> {
    if (scopes.length === 0) return;
    const result = await this.client.request('Push/subscribe', { scopes: scopes.map((scope) => ({ scope, state: this.data.get(scope)?.state })) });
    for (const [scope, error] of Object.entries(result.notSubscribed)) this.events.onError?.(scope, new DmciRequestError(error));
  }

  private async resubscribeAll(): Promise<void> {
    await Promise.all(this.scopes().map((scope) => this.catchUp(scope)));
    await this.subscribe(this.scopes());
  }

  private async pullChanges(scope: string): Promise<void> {
    const source = this.sources.get(scope);
    const replica = this.data.get(scope);
    if (!source || !replica) return;
    for (;;) {
      let page: ChangesPage<unknown>;
      try {
        this.counters.changesCalls++;
        page = await source.changes(this.client, replica.state);
      } catch (error) {
        if (error instanceof DmciRequestError && (error.code === 'CANNOT_CALCULATE_CHANGES' || error.code === 'INVALID_STATE')) {
          // Too old to catch up: start this scope again from nothing.
          this.counters.fullResyncs++;
          replica.state = undefined;
          replica.objects = {};
          continue;
        }
        throw error;
      }
      this.apply(scope, source, replica, page, 'changes');
      if (!page.hasMoreChanges) return;
    }
  }

  private handlePush(frame: PushFrame): void {
    const replica = this.data.get(frame.scope);
    const source = this.sources.get(frame.scope);
    if (!replica || !source) return;
    if (!frame.resync && frame.changes && frame.oldState === replica.state && !this.syncing.has(frame.scope)) {
      const page = frame.changes as ChangesPage<unknown>;
      this.apply(frame.scope, source, replica, { ...page, newState: frame.newState }, 'push');
      this.counters.pushesApplied++;
      if (page.hasMoreChanges) void this.catchUp(frame.scope).catch((error: unknown) => this.events.onError?.(frame.scope, error));
      return;
    }
    if (frame.newState === replica.state) return;
    this.counters.pushesIgnored++;
    void this.catchUp(frame.scope).catch((error: unknown) => this.events.onError?.(frame.scope, error));
  }

  private apply(scope: string, source: ScopeSource<unknown>, replica: ScopeReplicaState<unknown>, page: ChangesPage<unknown>, via: 'push' | 'changes'): void {
    for (const object of [...page.created, ...page.updated]) replica.objects[source.idOf(object)] = object;
    for (const id of page.destroyed) delete replica.objects[id];
    replica.state = page.newState;
    this.events.onApplied?.(scope, { created: page.created.length, updated: page.updated.length, destroyed: page.destroyed.length, newState: page.newState, via });
  }
}

/** Reads a scope's complete current content with `/changes` from nothing, for `verify`. */
export async function fullState<T>(client: DmciClient, source: ScopeSource<T>): Promise<ScopeReplicaState<T>> {
  const objects: Record<string, T> = {};
  let state: string | undefined;
  for (;;) {
    const page = await source.changes(client, state);
    for (const object of [...page.created, ...page.updated]) objects[source.idOf(object)] = object;
    for (const id of page.destroyed) delete objects[id];
    state = page.newState;
    if (!page.hasMoreChanges) return { state, objects };
  }
}

export interface Divergence {
  scope: string;
  missing: string[];
  extra: string[];
  different: string[];
}

/** Compares a replica with the server's full state of each scope; an empty list means they are equal. */
export async function verifyReplica(client: DmciClient, replica: Replica, sources: ScopeSource<unknown>[]): Promise<Divergence[]> {
  const divergences: Divergence[] = [];
  for (const source of sources) {
    const truth = await fullState(client, source);
    const mine = replica.objectsOf<unknown>(source.scope);
    const missing = Object.keys(truth.objects).filter((id) => !(id in mine));
    const extra = Object.keys(mine).filter((id) => !(id in truth.objects));
    const different = Object.keys(truth.objects).filter((id) => id in mine && JSON.stringify(mine[id]) !== JSON.stringify(truth.objects[id]));
    if (missing.length + extra.length + different.length > 0) divergences.push({ scope: source.scope, missing, extra, different });
  }
  return divergences;
}
