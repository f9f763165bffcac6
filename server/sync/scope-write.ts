import type { Transaction } from 'kysely';
import { sendHints, type ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { kindOf, ScopeKind } from './scope-id.ts';
import { bumpScopes, createScope } from './sync-scope.repository.ts';

/**
 * Announces that a scope committed `modseq`: on a node `bus.publish`, which
 * tells local followers at once and other nodes by a batched NOTIFY. Called
 * after commit only.
 */
export type ScopePublisher = (scope: string, modseq: number) => void | Promise<void>;

export function busPublisher(bus: Pick<ClusterBus, 'publish'>): ScopePublisher {
  return (scope, modseq) => bus.publish({ kind: 'scope', scope, modseq });
}

/**
 * The one NothingChanged rule: a write that finds nothing to change throws
 * this inside its transaction; the transaction rolls back, no scope moves,
 * no hint goes out, and writeScopes answers with the caller's `unchanged`.
 */
export class NothingChanged extends Error {
  override readonly name = 'NothingChanged';
}

/**
 * The scopes one transaction writes (DESIGN §4). Each bump takes the scope
 * row's lock until commit and returns the modseq the transaction stamps its
 * rows with. Every transaction bumps in one global order — ascending scope
 * id — so two writers of the same scopes can never wait on each other in a
 * circle. A transaction may bump in several steps (lock a calendar row,
 * then the lists of the people it is shared with), but each step must come
 * after everything bumped before; a step out of order throws at once instead
 * of deadlocking one day under load. Bumping a scope again returns the same
 * modseq (one modseq per scope per transaction).
 */
export class ScopeWriter {
  private readonly bumped = new Map<string, number>();
  private highest = '';

  constructor(
    readonly trx: Transaction<Database>,
    /** Joined mode: the transaction belongs to someone else, so hints ride on it (sendHints). */
    private readonly announceInTransaction = false,
  ) {}

  /** Creates the scope's row if it does not exist (a new calendar, account or domain). */
  async create(scope: string): Promise<void> {
    await createScope(this.trx, scope);
  }

  async bump(scope: string): Promise<number> {
    return (await this.bumpAll([scope])).get(scope)!;
  }

  /** Bumps the scopes (sorted; after every scope bumped before) and returns each one's new modseq. */
  async bumpAll(scopes: readonly string[]): Promise<Map<string, number>> {
    const fresh = [...new Set(scopes)].filter((s) => !this.bumped.has(s)).sort();
    if (fresh.length > 0 && fresh[0]! <= this.highest) {
      throw new Error(`sync scopes bumped out of order: ${fresh[0]} after ${this.highest}`);
    }
    const modseqs = await bumpScopes(this.trx, fresh);
    for (const [scope, modseq] of modseqs) this.bumped.set(scope, modseq);
    if (fresh.length > 0) this.highest = fresh.at(-1)!;
    if (this.announceInTransaction && modseqs.size > 0) {
      await sendHints(this.trx as Db, [...modseqs].map(([scope, modseq]) => ({ kind: 'scope' as const, scope, modseq })));
    }
    return new Map(scopes.map((s) => [s, this.bumped.get(s)!]));
  }

  /**
   * The one exception to ascending order: calendar lists (`calendars:`) bumped
   * after the GAL scope (`gal:`) a membership change holds, when group grants
   * it changed reach those lists (calendar/group-access.ts). It cannot
   * deadlock: every transaction that takes both takes `gal:` first (lock
   * order gal: → cal: → calendars:), and nothing bumps `gal:` after a list
   * others can see. Only list scopes are accepted.
   */
  async bumpListsAfterGal(scopes: readonly string[]): Promise<Map<string, number>> {
    const fresh = [...new Set(scopes)].filter((s) => !this.bumped.has(s)).sort();
    const wrong = fresh.find((s) => kindOf(s) !== ScopeKind.calendarList);
    if (wrong !== undefined) throw new Error(`not a calendar list scope: ${wrong}`);
    const modseqs = await bumpScopes(this.trx, fresh);
    for (const [scope, modseq] of modseqs) this.bumped.set(scope, modseq);
    if (fresh.length > 0 && fresh.at(-1)! > this.highest) this.highest = fresh.at(-1)!;
    if (this.announceInTransaction && modseqs.size > 0) {
      await sendHints(this.trx as Db, [...modseqs].map(([scope, modseq]) => ({ kind: 'scope' as const, scope, modseq })));
    }
    return new Map(scopes.map((s) => [s, this.bumped.get(s)!]));
  }

  /** Every scope this transaction bumped, with its modseq. */
  get modseqs(): ReadonlyMap<string, number> {
    return this.bumped;
  }
}

/**
 * Runs `work` in one transaction with a ScopeWriter, commits, then publishes
 * one hint per bumped scope. If `work` throws NothingChanged the transaction
 * rolls back and `unchanged()` answers (without it the error propagates).
 */
export async function writeScopes<T>(db: Db, publish: ScopePublisher, work: (writer: ScopeWriter) => Promise<T>, unchanged?: () => T | Promise<T>): Promise<T> {
  let writer: ScopeWriter | undefined;
  let result: T;
  try {
    result = await db.transaction().execute(async (trx) => work((writer = new ScopeWriter(trx))));
  } catch (error) {
    if (error instanceof NothingChanged && unchanged) return unchanged();
    throw error;
  }
  for (const [scope, modseq] of writer!.modseqs) await publish(scope, modseq);
  return result;
}

const joined = new WeakMap<Transaction<Database>, ScopeWriter>();

/**
 * The ScopeWriter of a transaction another service owns (the hooks that run
 * inside the transaction creating an account or a domain). It cannot publish
 * after commit, so its hints go with the commit by transactional NOTIFY;
 * every hook of that transaction shares one writer, hence one bump order.
 */
export function scopeWriterIn(trx: Db): ScopeWriter {
  const transaction = trx as Transaction<Database>;
  let writer = joined.get(transaction);
  if (!writer) joined.set(transaction, (writer = new ScopeWriter(transaction, true)));
  return writer;
}
