import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { CloseCode, DefaultLimits, SUPPORTED_PROTOCOL_VERSIONS, type AnnouncedLimits } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import type { Config } from '../config/config.ts';
import type { Logger } from '../log/logger.ts';
import { listenOn } from '../net/listen.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { HostScreen } from '../security/host-screen.ts';
import { normaliseAddress, type IpScreen } from '../security/ip-screen.ts';
import type { LoginGuard } from '../security/login-guard.ts';
import { PreAuthBudget } from '../security/preauth-budget.ts';
import type { SessionRegistry } from '../sessions/session-registry.ts';
import { Connection } from './connection.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { GatewayContext } from './gateway-context.ts';

export interface GatewayDeps {
  config: Config;
  log: Logger;
  metrics: Metrics;
  accounts: AccountService;
  sessions: SessionRegistry;
  dispatcher: Dispatcher;
  loginGuard: LoginGuard;
  ipScreen: IpScreen;
  /** Host-name allow/deny lists (FCrDNS); absent or empty = no lookups. */
  hostScreen?: HostScreen;
}

const SWEEP_INTERVAL_MS = 1000;
/** How long past the handshake deadline a socket whose hello is still being checked may stay (a backstop; the guard answers before the deadline). */
const AUTHENTICATING_GRACE_MS = 5000;
/** Retry-After sent with an upgrade refused for a reason without a known end (docs/protocol.md §Connecting). */
const RETRY_AFTER_MS = { tooManyConnections: 30_000, draining: 5_000, hostScreenDown: 30_000 } as const;

/**
 * The DMCI door on 8390: an HTTP(S) server whose only business is the
 * WebSocket upgrade. Screening happens before the upgrade; one timer sweeps
 * every connection for auth deadlines, and one heartbeat timer pings them all
 * (no per-socket timers: they cost memory at 20,000 sockets).
 */
export class Gateway {
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Set<Connection>();
  private readonly perAddress = new Map<string, number>();
  private readonly context: GatewayContext;
  private readonly preAuth: PreAuthBudget;
  private draining = false;
  private sweepTimer: NodeJS.Timeout | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private emptyWaiters: Array<() => void> = [];
  private nextConnId = 1;

  constructor(private readonly deps: GatewayDeps) {
    const { config } = deps;
    this.server = config.tls
      ? createHttpsServer({ cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) })
      : createHttpServer();
    // Slowloris: a client must finish its headers and its request promptly.
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.on('request', (req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      res.end('dmci speaks msgpack over WebSocket on this port; see docs/protocol.md\n');
    });
    this.server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    this.server.on('clientError', (_error, socket) => socket.destroy());

    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.DMCI_MAX_PAYLOAD,
      perMessageDeflate: false,
      clientTracking: false,
    });

    const limits: AnnouncedLimits = {
      maxFrameBytes: config.DMCI_MAX_PAYLOAD,
      maxInFlight: config.DMCI_MAX_IN_FLIGHT,
      requestsPerSecond: config.DMCI_REQUESTS_PER_SECOND,
      requestBurst: config.DMCI_REQUEST_BURST,
      maxObjectsInSet: 500,
      maxChangesPerCall: 5000,
      maxAnswerBytes: DefaultLimits.maxAnswerBytes,
      maxUnreadBytes: config.DMCI_CLOSE_WATER_BYTES,
    };
    this.preAuth = new PreAuthBudget({
      windowMs: config.DMCI_PREAUTH_WINDOW_MS,
      maxConnections: config.DMCI_PREAUTH_MAX_CONNECTIONS,
      maxFrames: config.DMCI_PREAUTH_MAX_FRAMES,
      maxBytes: config.DMCI_PREAUTH_MAX_BYTES,
    });
    this.context = {
      ...deps,
      preAuth: this.preAuth,
      limits,
      supportedVersions: SUPPORTED_PROTOCOL_VERSIONS,
      isDraining: () => this.draining,
      onIdle: () => this.notifyIfIdle(),
      onConnectionClosed: (connection) => this.forget(connection),
    };
  }

  async listen(port: number, host: string): Promise<number> {
    const boundPort = await listenOn(this.server, port, host, this.deps.log, 'connector door');
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.deps.config.DMCI_HEARTBEAT_MS);
    return boundPort;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /**
   * Graceful shutdown: refuse new connections and requests, let in-flight
   * requests finish (up to `graceMs`), then close every socket with GOING_AWAY
   * so connectors reconnect elsewhere.
   */
  async drain(graceMs: number): Promise<void> {
    this.draining = true;
    clearInterval(this.sweepTimer);
    clearInterval(this.heartbeatTimer);
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    let graceTimer: NodeJS.Timeout | undefined;
    await Promise.race([this.waitForIdle(), new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
    clearTimeout(graceTimer); // else it holds the process open for the whole grace period after a quick drain
    for (const connection of this.connections) connection.close(CloseCode.GOING_AWAY, 'server shutting down; reconnect elsewhere');
    // Give close frames a moment to leave (until every client answered, at most 500 ms), then cut whatever is left.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => (this.connections.size === 0 ? resolve() : this.emptyWaiters.push(resolve))),
      new Promise((resolve) => (timer = setTimeout(resolve, Math.min(500, graceMs)))),
    ]);
    clearTimeout(timer);
    for (const connection of this.connections) connection.terminate();
    this.server.closeAllConnections();
    await closed;
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', destroySocket);
    const address = normaliseAddress(req.socket.remoteAddress);
    const { ipScreen, loginGuard, config, log } = this.deps;
    if (this.draining) return rejectUpgrade(socket, 503, 'draining', RETRY_AFTER_MS.draining);
    const refusal = ipScreen.refusal(address);
    if (refusal) {
      log.warn({ remoteAddress: address, refusal }, 'connection refused by the IP screen');
      return rejectUpgrade(socket, 403, refusal);
    }
    const trusted = ipScreen.isTrusted(address);
    const blockedFor = trusted ? 0 : loginGuard.blockedFor(address);
    if (blockedFor > 0) return rejectUpgrade(socket, 429, 'temporarily blocked after failed logins', blockedFor);
    const count = this.perAddress.get(address) ?? 0;
    if (!trusted && count >= config.DMCI_MAX_CONNECTIONS_PER_IP) return rejectUpgrade(socket, 429, 'too many connections from this address', RETRY_AFTER_MS.tooManyConnections);
    const overBudget = trusted ? null : this.preAuth.admitConnection(address);
    if (overBudget) {
      log.warn({ remoteAddress: address, budget: overBudget }, 'connection refused: pre-authentication budget of the address spent');
      return rejectUpgrade(socket, 429, `too many unauthenticated ${overBudget} from this address`, this.preAuth.retryAfterMs(address));
    }

    const { hostScreen } = this.deps;
    if (trusted || !hostScreen?.enabled) return this.accept(req, socket, head, address);
    hostScreen.refusal(address).then(
      (hostRefusal) => {
        if (socket.destroyed) return;
        if (!hostRefusal) return this.accept(req, socket, head, address);
        log.warn({ remoteAddress: address, refusal: hostRefusal }, 'connection refused by the host screen');
        rejectUpgrade(socket, 403, hostRefusal);
      },
      (error: unknown) => {
        log.error({ err: error }, 'host screen failed');
        rejectUpgrade(socket, 503, 'host screen unavailable', RETRY_AFTER_MS.hostScreenDown);
      },
    );
  }

  private accept(req: IncomingMessage, socket: Duplex, head: Buffer, address: string): void {
    if (this.draining) return rejectUpgrade(socket, 503, 'draining', RETRY_AFTER_MS.draining);
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const connection = new Connection(ws, socket, `c${this.nextConnId++}`, address, this.context);
      this.connections.add(connection);
      this.perAddress.set(address, (this.perAddress.get(address) ?? 0) + 1);
      this.deps.metrics.connectionsOpen.inc();
    });
  }

  private forget(connection: Connection): void {
    if (!this.connections.delete(connection)) return;
    const remaining = (this.perAddress.get(connection.remoteAddress) ?? 1) - 1;
    if (remaining <= 0) this.perAddress.delete(connection.remoteAddress);
    else this.perAddress.set(connection.remoteAddress, remaining);
    this.deps.metrics.connectionsOpen.dec();
    this.notifyIfIdle();
    if (this.connections.size === 0 && this.emptyWaiters.length > 0) for (const resolve of this.emptyWaiters.splice(0)) resolve();
  }

  /**
   * Closes sockets that did not authenticate within the deadline. A socket
   * whose hello is being checked is answered by the login guard before the
   * deadline (AUTH_FAILED, SERVER_BUSY, ...); it is cut here only past a
   * grace period, should that check hang (a stalled database).
   */
  private sweep(): void {
    const now = Date.now();
    const deadline = now - this.deps.config.DMCI_AUTH_DEADLINE_MS;
    for (const connection of this.connections) {
      const cutoff = connection.state === 'authenticating' ? deadline - AUTHENTICATING_GRACE_MS : deadline;
      if (connection.state !== 'open' && connection.state !== 'closed' && connection.openedAt < cutoff) {
        // Only a socket that never sent hello is suspicious; one whose hello waits in the
        // password-hashing queue is the server being slow (a login burst), not the client.
        if (connection.state === 'awaiting-hello' && !this.deps.ipScreen.isTrusted(connection.remoteAddress)) this.deps.loginGuard.recordFailure(connection.remoteAddress);
        connection.fail(CloseCode.AUTH_TIMEOUT, 'AUTH_TIMEOUT', `no successful hello within ${this.deps.config.DMCI_AUTH_DEADLINE_MS} ms`);
      }
    }
  }

  /** A socket that did not answer the previous ping is terminated; the others are pinged. */
  private heartbeat(): void {
    for (const connection of this.connections) {
      if (!connection.alive) {
        connection.log.info({}, 'terminating a connection that missed its heartbeat');
        connection.terminate();
        continue;
      }
      connection.alive = false;
      connection.ping();
    }
  }

  private waitForIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    for (const connection of this.connections) if (connection.requestsInFlight > 0) return false;
    return true;
  }

  private notifyIfIdle(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

/** Shared by every upgrading socket: a closure per socket would outlive the upgrade for nothing. */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Answers an upgrade with an HTTP error; 429 and 503 carry Retry-After (whole seconds, rounded up), 403 none: it lasts until the lists change. */
function rejectUpgrade(socket: Duplex, status: 403 | 429 | 503, reason: string, retryAfterMs?: number): void {
  const text = { 403: 'Forbidden', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status];
  const retryAfter = retryAfterMs !== undefined ? `Retry-After: ${Math.max(1, Math.ceil(retryAfterMs / 1000))}\r\n` : '';
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\n${retryAfter}Content-Type: text/plain\r\nContent-Length: ${Buffer.byteLength(reason) + 1}\r\n\r\n${reason}\n`);
}
