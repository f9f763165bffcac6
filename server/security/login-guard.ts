import { HashQueueFull, type HashTicket } from './hash-queue.ts';

/**
 * The one login guard (DESIGN §7): every door that checks a password — the
 * WebSocket `hello`, the LDAP bind, `Account/changePassword`, and later the
 * admin console — runs the check through `attempt`, per node and in memory.
 *
 * - One attempt in flight per address and per login name. Another attempt
 *   from the same address waits in line while the first is being checked
 *   (a burst of good logins from one office goes through one by one); a
 *   failed attempt keeps its slots for its whole delay and turns the line
 *   away. Whatever is turned away (`busy`: the slot serves a delay, the line
 *   is full, or the login name is being tried from elsewhere) is counted as
 *   a failure, so pipelining or opening more sockets buys no extra guesses.
 * - A failure is counted when the attempt starts: an attempt the client
 *   abandons (closing the socket before the answer) counts as one. A success
 *   takes back only its own count, so one account's success never clears the
 *   failures another account collected from the same address.
 * - The failed-login delay doubles with the recent failures of the address
 *   or of the login name (whichever has more), 250 ms up to `maxDelayMs`. The
 *   answer is sent by the door's `answerBy` at the latest (the handshake
 *   deadline, less a margin), so a wrong password is always answered as such;
 *   the slots stay taken for the full delay.
 * - Dynamic screening: `failures` failures within `windowMs` from one
 *   address, or from its /24 (IPv4) or /64 (IPv6) neighbourhood (counted at
 *   4× the threshold), block it for `blockMs`, doubling with each new block up
 *   to 24 h. Login names are never blocked (that would let anyone lock an
 *   account out); their failures only lengthen the delay. Rapid reconnects
 *   and pre-auth protocol violations count too (`recordFailure`).
 *
 * Trusted hosts (`isTrusted`) are exempt from all of it, never from the check.
 */
export interface LoginGuardSettings {
  failures: number;
  windowMs: number;
  blockMs: number;
  maxDelayMs: number;
  now?: () => number;
  /** Addresses, neighbourhoods and login names tracked at most (memory bound); default 100,000. */
  maxTracked?: number;
  isTrusted?: (address: string) => boolean;
  /** Attempts from one address that may wait behind the one being checked (DMCI_LOGIN_QUEUE_PER_ADDRESS); default 16. */
  maxWaiting?: number;
}

/** One password check as a door sees it. */
export interface LoginSource {
  address: string;
  /** The login name tried, as typed (compared case-insensitively). */
  login: string;
  /** Epoch milliseconds by which the door must answer; the delay is cut short there and a check still waiting to be hashed then is dropped as `overloaded`. */
  answerBy?: number | undefined;
  /** Fires when the client went away: a check still waiting for its hash is dropped, and the attempt counts as a failure. */
  signal?: AbortSignal | undefined;
}

export type LoginRefusal = {
  ok: false;
  reason: 'refused';
  /** blocked: the address is screened; busy: another attempt for this address or login is in flight; overloaded: the hashing queue is full. */
  refused: 'blocked' | 'busy' | 'overloaded';
  retryAfterMs: number;
};

/** The client went away before the answer; nobody is left to tell. */
export type LoginAbandoned = { ok: false; reason: 'abandoned' };
/** What a password check itself answers: a success, or a failure with its reason. */
export type CheckOutcome = { ok: true } | { ok: false; reason: string };

interface Waiter {
  go: () => void;
  refuse: () => void;
}

interface Record {
  failureTimes: number[];
  blockedUntil: number;
  blocks: number;
  threshold: number;
}

const MAX_BLOCK_MS = 24 * 60 * 60_000;
const FIRST_DELAY_MS = 250;
const MAX_TRACKED = 100_000;
/** Failure times kept per record beyond the threshold: the delay stops doubling long before. */
const MAX_TIMES = 64;
const MAX_WAITING = 16;
/** retryAfterMs for a `busy` refusal while the other attempt is still being checked. */
export const BUSY_RETRY_MS = 1000;
/** retryAfterMs for an `overloaded` refusal. */
export const OVERLOADED_RETRY_MS = 2000;

export class LoginGuard {
  private readonly records = new Map<string, Record>();
  /** Address or `login:` key → epoch ms its slot frees (Infinity while the check runs). */
  private readonly inFlight = new Map<string, number>();
  /** Attempts from one address waiting for the one being checked. */
  private readonly lines = new Map<string, Waiter[]>();
  private readonly now: () => number;
  private readonly isTrusted: (address: string) => boolean;

  constructor(private readonly settings: LoginGuardSettings) {
    this.now = settings.now ?? Date.now;
    this.isTrusted = settings.isTrusted ?? (() => false);
  }

  /**
   * Runs one password check under the guard. `check` receives the hashing
   * ticket to pass to PasswordHasher (the address as the queue key, and the
   * signal). Failures are answered after the delay, at `answerBy` at the latest.
   */
  async attempt<O extends CheckOutcome>(source: LoginSource, check: (ticket: HashTicket) => Promise<O>): Promise<O | LoginRefusal | LoginAbandoned> {
    const { address } = source;
    const deadline = source.answerBy !== undefined ? AbortSignal.timeout(Math.max(0, source.answerBy - this.now())) : undefined;
    const signals = [source.signal, deadline].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
    if (this.isTrusted(address)) {
      try {
        return await check({ signal });
      } catch (error) {
        if (error instanceof HashQueueFull || deadline?.aborted) return overloaded();
        if (source.signal?.aborted) return { ok: false, reason: 'abandoned' };
        throw error;
      }
    }

    const refuse = (refused: 'blocked' | 'busy', retryAfterMs: number): LoginRefusal => ({ ok: false, reason: 'refused', refused, retryAfterMs });
    const blockedFor = this.blockedFor(address);
    if (blockedFor > 0) return refuse('blocked', blockedFor);
    const loginKey = `login:${source.login.trim().toLowerCase()}`;
    const keys = [address, neighbourhood(address), loginKey];
    const countNow = () => {
      const stamp = this.now();
      for (const key of keys) this.count(key, stamp);
      return stamp;
    };

    const turn = await this.takeAddress(address, source.answerBy, source.signal);
    if (turn === 'abandoned') {
      countNow();
      return { ok: false, reason: 'abandoned' };
    }
    if (turn === 'late') return refuse('busy', BUSY_RETRY_MS);
    if (turn === 'busy') {
      countNow();
      return refuse('busy', this.busyFor(address) || BUSY_RETRY_MS);
    }
    // The address's turn: blocked meanwhile (by the attempts refused while this one waited), or its login busy elsewhere?
    const blockedNow = this.blockedFor(address);
    if (blockedNow > 0) {
      this.release(address, loginKey, 0, false);
      return refuse('blocked', blockedNow);
    }
    const loginBusy = this.busyFor(loginKey);
    if (loginBusy > 0) {
      countNow();
      this.release(address, loginKey, 0, false);
      return refuse('busy', loginBusy);
    }

    this.inFlight.set(loginKey, Infinity);
    const stamp = countNow();
    // Fixed now, by the failures before this attempt and itself: refusals arriving meanwhile lengthen the next attempt's delay, not this one's.
    const delayMs = this.delayFor(address, loginKey);
    let outcome: O;
    try {
      outcome = await check({ key: address, signal });
    } catch (error) {
      if (source.signal?.aborted) {
        this.release(address, loginKey, delayMs);
        return { ok: false, reason: 'abandoned' };
      }
      for (const key of keys) this.uncount(key, stamp);
      this.release(address, loginKey, 0);
      if (error instanceof HashQueueFull || deadline?.aborted) return overloaded();
      throw error;
    }
    if (outcome.ok) {
      for (const key of keys) this.uncount(key, stamp);
      this.release(address, loginKey, 0);
      return outcome;
    }
    this.release(address, loginKey, delayMs);
    const answerIn = source.answerBy === undefined ? delayMs : Math.min(delayMs, source.answerBy - this.now());
    if (answerIn > 0) await new Promise((resolve) => setTimeout(resolve, answerIn));
    return source.signal?.aborted ? { ok: false, reason: 'abandoned' } : outcome;
  }

  /**
   * Takes the address's slot: at once when it is free; in line behind the
   * attempt being checked (at most `maxWaiting` wait); `busy` while the slot
   * serves a failure's delay or the line is full; `late` when `answerBy`
   * passes in line; `abandoned` when the client leaves the line.
   */
  private takeAddress(address: string, answerBy: number | undefined, signal: AbortSignal | undefined): Promise<'go' | 'busy' | 'late' | 'abandoned'> | 'go' | 'busy' {
    const busyFor = this.busyFor(address);
    let line = this.lines.get(address);
    if (busyFor === 0 && !line) {
      this.inFlight.set(address, Infinity);
      return 'go';
    }
    if (this.inFlight.get(address) !== Infinity || (line?.length ?? 0) >= (this.settings.maxWaiting ?? MAX_WAITING)) return 'busy';
    if (!line) this.lines.set(address, (line = []));
    const waiting = line;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const leave = (result: 'go' | 'busy' | 'late' | 'abandoned') => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const index = waiting.indexOf(waiter);
        if (index >= 0) waiting.splice(index, 1);
        if (waiting.length === 0 && this.lines.get(address) === waiting) this.lines.delete(address);
        resolve(result);
      };
      const onAbort = () => leave('abandoned');
      const waiter: Waiter = { go: () => leave('go'), refuse: () => leave('busy') };
      waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (answerBy !== undefined) timer = setTimeout(() => leave('late'), Math.max(0, answerBy - this.now()));
    });
  }

  /**
   * Frees the attempt's slots, or keeps them for `holdMs` (a failure's delay).
   * A free address slot goes to the next in line; a held one turns the whole
   * line away (`busy`): guesses do not queue up behind a failure.
   */
  private release(address: string, loginKey: string, holdMs: number, freeLogin = true): void {
    const line = this.lines.get(address);
    if (holdMs > 0) {
      const until = this.now() + holdMs;
      this.inFlight.set(address, until);
      if (freeLogin) this.inFlight.set(loginKey, until);
      if (line) for (const waiter of [...line]) waiter.refuse();
      return;
    }
    if (freeLogin) this.inFlight.delete(loginKey);
    const next = line?.[0];
    if (next) {
      this.inFlight.set(address, Infinity);
      next.go();
    } else {
      this.inFlight.delete(address);
    }
    if (this.inFlight.size > (this.settings.maxTracked ?? MAX_TRACKED)) {
      const now = this.now();
      for (const [key, until] of this.inFlight) if (until <= now) this.inFlight.delete(key);
    }
  }

  /** Milliseconds the address (or its neighbourhood) remains blocked, or 0. A threshold reached since the last look starts a block now. */
  blockedFor(address: string): number {
    if (this.isTrusted(address)) return 0;
    const now = this.now();
    let longest = 0;
    for (const key of [address, neighbourhood(address)]) {
      const record = this.records.get(key);
      if (!record) continue;
      prune(record, now, this.settings.windowMs);
      if (record.failureTimes.length >= record.threshold && record.blockedUntil <= now) {
        record.blocks++;
        record.blockedUntil = now + Math.min(this.settings.blockMs * 2 ** (record.blocks - 1), MAX_BLOCK_MS);
        record.failureTimes = [];
      }
      longest = Math.max(longest, record.blockedUntil - now);
    }
    return longest;
  }

  /**
   * A failure outside a password check (a bad resume token, a protocol
   * violation or silence before `hello`, a rapid reconnect). Returns the
   * delay to serve before answering it.
   */
  recordFailure(address: string): number {
    if (this.isTrusted(address)) return 0;
    const now = this.now();
    this.count(address, now);
    this.count(neighbourhood(address), now);
    return delayOf(this.recentFailures(address), this.settings.maxDelayMs);
  }

  /** Addresses, neighbourhoods and login names currently tracked. */
  get size(): number {
    return this.records.size;
  }

  private delayFor(address: string, loginKey: string): number {
    return delayOf(Math.max(this.recentFailures(address), this.recentFailures(loginKey)), this.settings.maxDelayMs);
  }

  private recentFailures(key: string): number {
    const record = this.records.get(key);
    if (!record) return 0;
    prune(record, this.now(), this.settings.windowMs);
    return record.failureTimes.length;
  }

  private busyFor(key: string): number {
    const until = this.inFlight.get(key);
    if (until === undefined) return 0;
    if (until === Infinity) return BUSY_RETRY_MS;
    const left = until - this.now();
    if (left > 0) return left;
    this.inFlight.delete(key);
    return 0;
  }

  private count(key: string, at: number): void {
    let record = this.records.get(key);
    if (!record) {
      if (this.records.size >= (this.settings.maxTracked ?? MAX_TRACKED)) this.evict();
      const threshold = key.startsWith('login:') ? Infinity : key.includes('/') ? this.settings.failures * 4 : this.settings.failures;
      record = { failureTimes: [], blockedUntil: 0, blocks: 0, threshold };
      this.records.set(key, record);
    }
    prune(record, at, this.settings.windowMs);
    record.failureTimes.push(at);
    if (record.failureTimes.length > Math.max(MAX_TIMES, record.threshold === Infinity ? 0 : record.threshold)) record.failureTimes.shift();
  }

  /** Takes back one failure counted at `at` (a success, or a check the server could not run). */
  private uncount(key: string, at: number): void {
    const times = this.records.get(key)?.failureTimes;
    const index = times?.lastIndexOf(at) ?? -1;
    if (index >= 0) times!.splice(index, 1);
  }

  /**
   * Halves the table: records that block nothing go first, then, if blocks
   * alone fill it (many addresses, as from an IPv6 range), the oldest blocks.
   * Without the second pass every new address would rescan a full table.
   */
  private evict(): void {
    const now = this.now();
    const target = (this.settings.maxTracked ?? MAX_TRACKED) / 2;
    for (const [key, record] of this.records) {
      if (this.records.size < target) return;
      if (record.blockedUntil < now) this.records.delete(key);
    }
    for (const key of this.records.keys()) {
      if (this.records.size < target) return;
      this.records.delete(key);
    }
  }
}

function overloaded(): LoginRefusal {
  return { ok: false, reason: 'refused', refused: 'overloaded', retryAfterMs: OVERLOADED_RETRY_MS };
}

function prune(record: Record, now: number, windowMs: number): void {
  const first = record.failureTimes.findIndex((t) => now - t < windowMs);
  if (first !== 0) record.failureTimes = first < 0 ? [] : record.failureTimes.slice(first);
}

/** 250 ms for the first failure, doubling with each further one, up to the maximum. */
function delayOf(failures: number, maxDelayMs: number): number {
  return failures === 0 ? 0 : Math.min(FIRST_DELAY_MS * 2 ** Math.min(failures - 1, 30), maxDelayMs);
}

/** The /24 of an IPv4 address or the /64 of an IPv6 one. */
export function neighbourhood(address: string): string {
  if (address.includes(':')) {
    const groups = expandIpv6(address);
    return `${groups.slice(0, 4).join(':')}::/64`;
  }
  return `${address.split('.').slice(0, 3).join('.')}.0/24`;
}

function expandIpv6(address: string): string[] {
  const [head, tail] = address.split('::') as [string, string | undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : new Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...fill, ...tailGroups].map((g) => g.toLowerCase());
}
