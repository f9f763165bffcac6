import { DmciClient, DmciConnectionError } from './client.ts';

/**
 * The load generator behind `dmci-sim load` and the `connections` benchmark:
 * opens many authenticated sessions (optionally ramped, spread over several
 * local source addresses), holds them, and reports how long connecting and
 * authenticating took.
 *
 * Two levels: `openSessions` opens a set and hands it back (the benchmark
 * opens in steps and measures memory while the sessions sit idle);
 * `runLoad` opens, holds for a duration, closes and reports.
 */

export interface LoadCredentials {
  login: string;
  password: string;
}

export interface OpenSessionsOptions {
  url: string;
  clients: number;
  /** Credentials for client `index` (0-based). */
  credentials: (index: number) => LoadCredentials;
  /** New connections started per second; unlimited when absent. */
  rampPerSecond?: number;
  /** Handshakes in progress at once (default 256): a burst must not look like a SYN flood. */
  maxPending?: number;
  /** Local addresses to connect from, used round-robin (e.g. 127.0.0.1 … 127.0.0.20). */
  sourceAddresses?: readonly string[];
  clientName?: string;
  /** Handshake timeout per client, ms (default 30 s). */
  timeoutMs?: number;
  /** Called after each client connected or failed. */
  onProgress?: (progress: { done: number; connected: number; failed: number; total: number }) => void;
}

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface SessionSet {
  /** Connected clients, in the order they connected. */
  readonly clients: DmciClient[];
  readonly connectMs: number[];
  readonly authMs: number[];
  /** Failure reasons (close code name, HTTP status, error message) with counts. */
  readonly failures: Map<string, number>;
  /** Sessions that closed after connecting (the server dropped them). */
  readonly dropped: number;
  /** Closes every session normally. */
  closeAll(): Promise<void>;
}

export interface LoadReport {
  url: string;
  requested: number;
  connected: number;
  failed: number;
  failures: Record<string, number>;
  /** TCP + WebSocket upgrade, ms. */
  connect: Percentiles;
  /** `hello` → `welcome`, ms (password hashing included). */
  auth: Percentiles;
  /** Wall time to open every session, ms. */
  openMs: number;
  /** How long the sessions were held, ms. */
  heldMs: number;
  /** Sessions the server closed while they were held. */
  dropped: number;
}

export async function openSessions(options: OpenSessionsOptions): Promise<SessionSet> {
  const clients: DmciClient[] = [];
  const connectMs: number[] = [];
  const authMs: number[] = [];
  const failures = new Map<string, number>();
  let dropped = 0;
  let closing = false;
  let done = 0;
  const maxPending = Math.max(1, options.maxPending ?? 256);
  const addresses = options.sourceAddresses && options.sourceAddresses.length > 0 ? options.sourceAddresses : undefined;
  const startedAt = performance.now();

  const openOne = async (index: number): Promise<void> => {
    const { login, password } = options.credentials(index);
    const client = new DmciClient({
      url: options.url,
      login,
      password,
      clientName: options.clientName ?? 'dmci-sim-load',
      requestTimeoutMs: options.timeoutMs ?? 30_000,
      ...(addresses ? { localAddress: addresses[index % addresses.length]! } : {}),
    });
    const timer = setTimeout(() => void client.close(), options.timeoutMs ?? 30_000);
    try {
      await client.connect();
      clients.push(client);
      connectMs.push(client.timings!.connectMs);
      authMs.push(client.timings!.authMs);
      client.once('close', () => {
        if (!closing) dropped++;
      });
    } catch (error) {
      const reason = failureReason(error);
      failures.set(reason, (failures.get(reason) ?? 0) + 1);
    } finally {
      clearTimeout(timer);
      done++;
      options.onProgress?.({ done, connected: clients.length, failed: done - clients.length, total: options.clients });
    }
  };

  // A small scheduler: start client i no earlier than i / rampPerSecond, with at most maxPending handshakes open.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < options.clients) {
      const index = next++;
      if (options.rampPerSecond && options.rampPerSecond > 0) {
        const due = startedAt + (index / options.rampPerSecond) * 1000;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await openOne(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(maxPending, options.clients) }, () => worker()));

  return {
    clients,
    connectMs,
    authMs,
    failures,
    get dropped() {
      return dropped;
    },
    async closeAll() {
      closing = true;
      await Promise.all(clients.map((client) => client.close()));
    },
  };
}

export async function runLoad(options: OpenSessionsOptions & { durationMs: number }): Promise<LoadReport> {
  const started = performance.now();
  const set = await openSessions(options);
  const openMs = performance.now() - started;
  const holdStarted = performance.now();
  if (options.durationMs > 0) await new Promise((resolve) => setTimeout(resolve, options.durationMs));
  const heldMs = performance.now() - holdStarted;
  const dropped = set.dropped;
  await set.closeAll();
  return summarise(options.url, options.clients, set, { openMs, heldMs, dropped });
}

export function summarise(url: string, requested: number, set: SessionSet, times: { openMs: number; heldMs: number; dropped: number }): LoadReport {
  const failed = [...set.failures.values()].reduce((a, b) => a + b, 0);
  return {
    url,
    requested,
    connected: set.clients.length,
    failed,
    failures: Object.fromEntries(set.failures),
    connect: percentiles(set.connectMs),
    auth: percentiles(set.authMs),
    openMs: round(times.openMs),
    heldMs: round(times.heldMs),
    dropped: times.dropped,
  };
}

/** Nearest-rank percentiles of a sample, rounded to 0.01 ms. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
  return { count: sorted.length, p50: round(rank(50)), p90: round(rank(90)), p99: round(rank(99)), max: round(sorted[sorted.length - 1]!) };
}

/**
 * Parses a list of source addresses: comma-separated addresses or IPv4 ranges
 * (`127.0.0.1-127.0.0.20`, or `127.0.0.1-20` for the last octet).
 */
export function parseAddressList(text: string): string[] {
  const addresses: string[] = [];
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [from, to] = part.split('-') as [string, string | undefined];
    if (to === undefined) {
      if (!isIpv4(from) && !from.includes(':')) throw new Error(`${JSON.stringify(from)} is not an IP address`);
      addresses.push(from);
      continue;
    }
    if (!isIpv4(from)) throw new Error(`${JSON.stringify(part)}: a range needs IPv4 addresses`);
    const end = isIpv4(to) ? to : `${from.split('.').slice(0, 3).join('.')}.${to}`;
    if (!isIpv4(end)) throw new Error(`${JSON.stringify(part)}: ${JSON.stringify(to)} is not an IPv4 address or last octet`);
    const a = toInt(from);
    const b = toInt(end);
    if (b < a) throw new Error(`${JSON.stringify(part)}: the range runs backwards`);
    if (b - a > 65_535) throw new Error(`${JSON.stringify(part)}: at most 65,536 addresses`);
    for (let n = a; n <= b; n++) addresses.push([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.'));
  }
  return addresses;
}

function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function toInt(address: string): number {
  return address.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function failureReason(error: unknown): string {
  if (error instanceof DmciConnectionError) {
    if (error.errorCode) return error.errorCode;
    if (error.closeCode !== undefined) return `close ${error.closeCode}`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
