import { isIP } from 'node:net';
import { ErrorCode } from '../../protocol/index.ts';
import { requireGlobalAdmin, type Actor } from '../accounts/actor.ts';
import { actorName, recordAudit } from '../audit/audit.service.ts';
import { sendHints } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { cidrMatcher, type BlockStart } from './block-book.ts';
import { isHostPattern } from './host-screen.ts';
import { neighbourhood } from './login-guard.ts';
import { activeBlocks, deleteRule, insertRule, liftBlocks, listRules, pruneBlocks, upsertBlock } from './screen.repository.ts';
import type { MaintenanceJob } from '../maintenance.ts';
import { SCREEN_LISTS, type ScreenBlockRow, type ScreenList } from './screen.table.ts';

export interface ScreenBlock {
  /** An address, or a CIDR block (a guard's /24 or /64 neighbourhood, or an admin's range). */
  key: string;
  reason: string;
  source: 'guard' | 'admin';
  /** How many times the key was blocked. */
  count: number;
  blockedAt: string;
  until: string;
  by: string;
}

export interface ScreenRule {
  list: ScreenList;
  value: string;
  note: string;
  /** `config`: from the configuration (DMCI_TRUSTED_HOSTS, ...), changed only there; `database`: added at run time. */
  source: 'config' | 'database';
  createdAt?: string;
  by?: string;
}

/** The configured lists, by screen list. */
export type ConfiguredLists = Record<ScreenList, readonly string[]>;

/** What a block or an unblock made through the service looks like to its listeners. */
export type BlockListener = (block: ScreenBlock) => void;

const MIN_BLOCK_MS = 60_000;
/** Reasons and notes longer than this are refused: they are shown in lists and kept in every node's copy. */
export const MAX_SCREEN_TEXT = 500;
/**
 * The widest range a block or the trusted list takes (a /8 of IPv4, a /32 of
 * IPv6): `0.0.0.0/0` there would lock everyone out, or exempt everyone from
 * the login guard. Wider policy belongs on the allow and deny lists.
 */
const WIDEST_PREFIX: Record<4 | 6, number> = { 4: 8, 6: 32 };
const MAX_BLOCK_MS = 365 * 86_400_000;
export const DEFAULT_ADMIN_BLOCK_MS = 86_400_000;

/**
 * Screening an admin runs (issue 12): blocks and unblocks, and the trusted
 * and allow/deny lists, kept in PostgreSQL. Every change is recorded in the
 * audit log and announced with a `screen` hint in its transaction, so every
 * node's ScreenState re-reads the state within moments (the CLI's changes
 * too). Screening is server-wide: global admins only.
 */
export class ScreenService {
  private readonly blockListeners: BlockListener[] = [];

  constructor(
    private readonly db: Db,
    private readonly configured: ConfiguredLists,
  ) {}

  /** Runs for each block started through this service or by this node's guard (the node counts and logs them). */
  onBlock(listener: BlockListener): void {
    this.blockListeners.push(listener);
  }

  async overview(actor: Actor): Promise<{ blocks: ScreenBlock[]; rules: ScreenRule[] }> {
    requireGlobalAdmin(actor);
    const blocks = (await activeBlocks(this.db)).map(toBlock);
    const configured = SCREEN_LISTS.flatMap((list) => this.configured[list].map((value): ScreenRule => ({ list, value, note: '', source: 'config' })));
    const stored = (await listRules(this.db)).map((r): ScreenRule => ({ list: r.list, value: r.value, note: r.note, source: 'database', createdAt: r.created_at.toISOString(), by: r.created_by }));
    return { blocks, rules: [...configured, ...stored] };
  }

  /** Blocks an address or CIDR block on every node until `forMs` from now. */
  async block(actor: Actor, target: string, options: { reason: string; forMs?: number }): Promise<ScreenBlock> {
    requireGlobalAdmin(actor);
    const key = requireNarrowRange(requireAddressOrRange(target), 'a block');
    requireShortText(options.reason, 'reason');
    const forMs = options.forMs ?? DEFAULT_ADMIN_BLOCK_MS;
    if (!Number.isInteger(forMs) || forMs < MIN_BLOCK_MS || forMs > MAX_BLOCK_MS) {
      throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `a block lasts from ${MIN_BLOCK_MS / 60_000} minute to ${MAX_BLOCK_MS / 86_400_000} days`);
    }
    const row = await this.db.transaction().execute((trx) =>
      this.start(trx, actor, { key, reason: options.reason || 'blocked by an admin', source: 'admin', untilMs: Date.now() + forMs }),
    );
    return this.announce(row);
  }

  /** The guard of a node started a block: it becomes every node's (screen-state.ts calls this). */
  async recordGuardBlock(block: BlockStart, nodeActor: Actor): Promise<ScreenBlock> {
    const row = await this.db.transaction().execute((trx) => this.start(trx, nodeActor, { ...block, source: 'guard' }));
    return this.announce(row);
  }

  /**
   * Lifts the blocks on an address or range. For an address, the block of its
   * /24 (/64) neighbourhood goes too: the admin wants that address let in.
   */
  async unblock(actor: Actor, target: string): Promise<ScreenBlock[]> {
    requireGlobalAdmin(actor);
    const key = requireAddressOrRange(target);
    const keys = isIP(key) === 0 ? [key] : [key, neighbourhood(key)];
    const lifted = await this.db.transaction().execute(async (trx) => {
      const rows = await liftBlocks(trx, keys, actorName(actor));
      for (const row of rows) await recordAudit(trx, actor, { action: 'screen.unblock', target: row.key, address: row.key, before: toBlock(row) });
      if (rows.length > 0) await sendHints(trx, [{ kind: 'screen' }]);
      return rows;
    });
    if (lifted.length === 0) throw new DmciError(ErrorCode.NOT_FOUND, `no block in force on ${keys.join(' or ')}`);
    return lifted.map(toBlock);
  }

  async addRule(actor: Actor, list: ScreenList, value: string, note = ''): Promise<ScreenRule> {
    requireGlobalAdmin(actor);
    const normalised = requireRuleValue(list, value);
    if (list === 'trusted') requireNarrowRange(normalised, 'the trusted list');
    requireShortText(note, 'note');
    const rule = await this.db.transaction().execute(async (trx) => {
      if (!(await insertRule(trx, { list, value: normalised, note, createdBy: actorName(actor) }))) {
        throw new DmciError(ErrorCode.ALREADY_EXISTS, `${normalised} is on the ${list} list already`);
      }
      await recordAudit(trx, actor, { action: 'screen.rule.add', target: normalised, after: { list, value: normalised, note } });
      await sendHints(trx, [{ kind: 'screen' }]);
      return { list, value: normalised, note, source: 'database' as const, by: actorName(actor) };
    });
    return rule;
  }

  async removeRule(actor: Actor, list: ScreenList, value: string): Promise<void> {
    requireGlobalAdmin(actor);
    const normalised = requireRuleValue(list, value);
    await this.db.transaction().execute(async (trx) => {
      const removed = await deleteRule(trx, list, normalised);
      if (!removed) {
        const inConfig = this.configured[list].includes(normalised);
        throw new DmciError(ErrorCode.NOT_FOUND, inConfig ? `${normalised} is on the ${list} list by configuration: change it there` : `${normalised} is not on the ${list} list`);
      }
      await recordAudit(trx, actor, { action: 'screen.rule.remove', target: normalised, before: { list, value: normalised, note: removed.note } });
      await sendHints(trx, [{ kind: 'screen' }]);
    });
  }

  /** One block start, wherever it comes from: stored, recorded, announced to every node at commit. */
  private async start(trx: Db, actor: Actor, block: BlockStart & { source: 'guard' | 'admin' }): Promise<ScreenBlockRow> {
    const row = await upsertBlock(trx, { key: block.key, reason: block.reason, source: block.source, blockedUntil: new Date(block.untilMs), createdBy: actorName(actor) });
    await recordAudit(trx, actor, { action: 'screen.block', target: row.key, address: row.key, detail: { reason: row.reason, until: row.blocked_until, source: row.source, count: row.block_count } });
    await sendHints(trx, [{ kind: 'screen' }]);
    return row;
  }

  private announce(row: ScreenBlockRow): ScreenBlock {
    const block = toBlock(row);
    for (const listener of this.blockListeners) listener(block);
    return block;
  }
}

function toBlock(row: ScreenBlockRow): ScreenBlock {
  return { key: row.key, reason: row.reason, source: row.source, count: row.block_count, blockedAt: row.blocked_at.toISOString(), until: row.blocked_until.toISOString(), by: row.created_by };
}

/** The text quoted back in an error: enough to recognise it, never the whole of a huge argument. */
const quoted = (text: string) => JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text);

function requireAddressOrRange(text: string): string {
  const value = text.trim().toLowerCase();
  if (!cidrMatcher(value)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${quoted(text)} is not an IP address or CIDR block`);
  return value;
}

/** An address or a range no wider than WIDEST_PREFIX (for blocks and the trusted list). */
function requireNarrowRange(value: string, what: string): string {
  const [address, prefix] = value.split('/');
  const family = isIP(address!) as 4 | 6;
  if (prefix !== undefined && Number(prefix) < WIDEST_PREFIX[family]) {
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${what} covers at most a /${WIDEST_PREFIX[4]} (IPv4) or /${WIDEST_PREFIX[6]} (IPv6): use the deny or allow list for wider ranges`, {
      details: { limit: WIDEST_PREFIX[family] },
    });
  }
  return value;
}

function requireShortText(text: string, what: string): void {
  if (text.length > MAX_SCREEN_TEXT) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `a ${what} has at most ${MAX_SCREEN_TEXT} characters`, { details: { limit: MAX_SCREEN_TEXT } });
}

/** Address lists take addresses and CIDR blocks; host lists take names and *.domain patterns. */
function requireRuleValue(list: ScreenList, text: string): string {
  const value = text.trim().toLowerCase();
  if (list === 'host_allow' || list === 'host_deny') {
    if (!isHostPattern(value)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${quoted(text)} is not a host name or a *.domain pattern`);
    return value;
  }
  return requireAddressOrRange(value);
}

/** Blocks that ended or were lifted more than this long ago are forgotten (their story stays in the audit log). */
const BLOCK_HISTORY_MS = 7 * 86_400_000;

/** Hourly: forgets old blocks, so the table every node re-reads holds the live ones and a week of history. */
export const screenPruneJob: MaintenanceJob = {
  name: 'screen-blocks',
  intervalMs: 60 * 60_000,
  run: async (db, log) => {
    const removed = await pruneBlocks(db, new Date(Date.now() - BLOCK_HISTORY_MS));
    if (removed > 0) log.info({ removed }, 'forgot ended screening blocks');
  },
};
