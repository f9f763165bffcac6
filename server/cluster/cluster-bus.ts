import { EventEmitter } from 'node:events';
import { sql } from 'kysely';
import pg from 'pg';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';

/**
 * How nodes tell each other that something committed (DESIGN §4, §8).
 *
 * Payloads are hints, never data: `scope:<id>=<modseq>` (a sync scope
 * advanced) and `account:<id>` (an account was disabled or its password
 * changed). One notifier per node batches what committed in the last few
 * milliseconds into one NOTIFY, because a NOTIFY takes a cluster-wide lock at
 * commit and must not sit inside each write transaction. One dedicated
 * connection (not from the pool) LISTENs; after it reconnects it emits
 * `resync` so every follower re-reads from its cursor. Pollers behind it make
 * a lost hint cost latency, never data.
 */

export const CHANNEL = 'dmci';
const MAX_PAYLOAD_BYTES = 7900; // PostgreSQL's limit is 8000

/** `screen`: the shared screening state (security/screen-state.ts) changed; every node re-reads it. `kick`: an admin disconnects a session; the node holding it closes it (console/node-report.ts). */
export type Hint = { kind: 'scope'; scope: string; modseq: number } | { kind: 'account'; accountId: string } | { kind: 'screen' } | { kind: 'kick'; sessionId: string };

export function formatHint(hint: Hint): string {
  return hint.kind === 'scope' ? `scope:${hint.scope}=${hint.modseq}` : hint.kind === 'account' ? `account:${hint.accountId}` : hint.kind === 'kick' ? `kick:${hint.sessionId}` : 'screen';
}

export function parseHints(payload: string): Hint[] {
  const hints: Hint[] = [];
  for (const item of payload.split(' ')) {
    if (item.startsWith('scope:')) {
      const eq = item.lastIndexOf('=');
      const modseq = Number(item.slice(eq + 1));
      if (eq > 6 && Number.isSafeInteger(modseq)) hints.push({ kind: 'scope', scope: item.slice(6, eq), modseq });
    } else if (item.startsWith('account:') && item.length > 8) {
      hints.push({ kind: 'account', accountId: item.slice(8) });
    } else if (item === 'screen') {
      hints.push({ kind: 'screen' });
    } else if (item.startsWith('kick:') && item.length > 5) {
      hints.push({ kind: 'kick', sessionId: item.slice(5) });
    }
  }
  return hints;
}

/**
 * The one NOTIFY outside the bus's own batcher, for writers that have no bus
 * or do not own their transaction: on a transaction PostgreSQL delivers it
 * at commit (and drops it on rollback); on the pool, at once. Rare writes
 * only (account changes, the CLI): on the sync write path use the bus, whose
 * batched NOTIFY stays out of the transaction (DESIGN §4).
 */
export async function sendHints(db: Db, hints: readonly Hint[]): Promise<void> {
  for (const payload of packPayloads(hints.map(formatHint))) await sql`select pg_notify(${CHANNEL}, ${payload})`.execute(db);
}

export interface ClusterBusEvents {
  hint: [Hint, { local: boolean }];
  /** The LISTEN connection was re-established: hints may have been missed. */
  resync: [];
}

export class ClusterBus extends EventEmitter<ClusterBusEvents> {
  private pending = new Map<string, Hint>();
  private flushTimer: NodeJS.Timeout | undefined;
  private listener: pg.Client | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private connectedOnce = false;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly options: { url: string; pool: pg.Pool; batchMs: number; log: Logger; applicationName: string },
  ) {
    super();
  }

  async start(): Promise<void> {
    await this.connectListener();
  }

  /**
   * Announces a commit: local followers hear it at once, other nodes after the
   * next batch. Call after the transaction committed.
   */
  publish(hint: Hint): void {
    this.emit('hint', hint, { local: true });
    const key = hint.kind === 'scope' ? `s:${hint.scope}` : hint.kind === 'account' ? `a:${hint.accountId}` : hint.kind === 'kick' ? `k:${hint.sessionId}` : 'screen';
    const existing = this.pending.get(key);
    if (!(existing?.kind === 'scope' && hint.kind === 'scope' && existing.modseq > hint.modseq)) this.pending.set(key, hint);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.options.batchMs);
  }

  get listening(): boolean {
    return this.listener !== undefined;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
      this.flushing = this.flushing.then(() => this.flush());
    }
    await this.flushing;
    const listener = this.listener;
    this.listener = undefined;
    await listener?.end().catch(() => {});
  }

  private async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const items = [...this.pending.values()].map(formatHint);
    this.pending.clear();
    for (const payload of packPayloads(items)) {
      try {
        await this.options.pool.query('select pg_notify($1, $2)', [CHANNEL, payload]);
      } catch (error) {
        // Lost hints only delay other nodes until their next poll.
        this.options.log.warn({ err: error }, 'NOTIFY failed; other nodes will catch up by polling');
      }
    }
  }

  private async connectListener(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.url, application_name: this.options.applicationName });
    client.on('notification', (message) => {
      if (message.channel !== CHANNEL || !message.payload) return;
      for (const hint of parseHints(message.payload)) this.emit('hint', hint, { local: false });
    });
    const onBroken = (error?: Error) => {
      if (this.listener !== client) return;
      this.listener = undefined;
      client.end().catch(() => {});
      if (this.stopped) return;
      this.options.log.warn({ err: error }, 'LISTEN connection lost; reconnecting');
      this.scheduleReconnect(250);
    };
    client.on('error', onBroken);
    client.on('end', () => onBroken());
    await client.connect();
    await client.query(`LISTEN ${CHANNEL}`);
    this.listener = client;
    if (this.connectedOnce) this.emit('resync');
    this.connectedOnce = true;
  }

  private scheduleReconnect(delayMs: number): void {
    this.reconnectTimer = setTimeout(() => {
      this.connectListener().catch((error: Error) => {
        this.options.log.warn({ err: error }, 'LISTEN reconnect failed');
        if (!this.stopped) this.scheduleReconnect(Math.min(delayMs * 2, 5000));
      });
    }, delayMs);
  }
}

function packPayloads(items: string[]): string[] {
  const payloads: string[] = [];
  let current = '';
  for (const item of items) {
    if (current && current.length + 1 + item.length > MAX_PAYLOAD_BYTES) {
      payloads.push(current);
      current = '';
    }
    current = current ? `${current} ${item}` : item;
  }
  if (current) payloads.push(current);
  return payloads;
}
