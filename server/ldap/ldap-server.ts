import type { AddressInfo, Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import ldapjs from 'ldapjs';
import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { normaliseAddress, type IpScreen } from '../security/ip-screen.ts';
import type { LoginGuard } from '../security/login-guard.ts';
import type { LdapBinder } from './ldap-bind.ts';
import { SearchAnswer } from './ldap-answer.ts';
import type { LdapIdentity } from './ldap-identity.ts';
import { MAX_OPERATIONS_PER_CONNECTION, TLS_HANDSHAKE_TIMEOUT_MS, type LdapLimits } from './ldap-limits.ts';
import { MessageSplitter } from './ldap-framing.ts';
import { decodeSearchRequest, peekMessage, SEARCH_REQUEST_TAG } from './ldap-request.ts';
import { LdapError, ResultCode, resultCodeName } from './ldap-result.ts';
import type { LdapSearch } from './ldap-search.ts';
import { STARTTLS_OID } from './ldap-special-entries.ts';
import { UnreadAnswers } from './ldap-unread.ts';

/**
 * The LDAP door (1389, LDAPS 1636): the only file that imports ldapjs
 * (DESIGN §2, enforced by lint). It adapts ldapjs's requests to dmci's own
 * types (a FilterNode tree, plain strings) and hands them to LdapBinder and
 * LdapSearch; everything it sends back comes from an LdapEntry or an
 * LdapError. Known ldapjs 3.0.7 pitfalls handled here:
 *
 * - search requests never reach it: they are the door's hot path, and its
 *   message objects (a DN parsed twice, an object per filter item, a string
 *   round trip that mangled values holding `\` or non-BMP characters) cost
 *   more than answering from the index; ldap-request.ts decodes them and
 *   SearchAnswer writes the answer (docs/decisions.md);
 * - a malformed bind name or a SASL bind makes its parser throw and drop the
 *   connection without an answer; we answer with authMethodNotSupported
 *   instead (patchParsers);
 * - it answers anonymous binds with success before any handler runs; we route
 *   every bind to LdapBinder;
 * - its parser buffers without bound and recurses per message; we feed it
 *   one bounded message at a time (MessageSplitter);
 * - it logs every request, bind passwords included, at debug level; it gets
 *   a logger that drops debug and trace;
 * - it enforces no size or time limit; LdapSearch does.
 */

export interface LdapServerDeps {
  limits: LdapLimits;
  log: Logger;
  binder: LdapBinder;
  search: LdapSearch;
  ipScreen: IpScreen;
  loginGuard: LoginGuard;
  /** dmci_ldap_* metrics (ops/metrics.ts). */
  metrics?: Pick<Metrics, 'ldapBinds' | 'ldapSearches' | 'ldapEntries' | 'ldapDuration' | 'ldapConnections'>;
  /** With a certificate: the plain port offers StartTLS (RFC 4511 §4.14, RFC 4513 §3). */
  startTls?: SecureContext;
}

// ---- the parts of ldapjs we use, typed locally (its @types describe 2.x) ----

interface BerReader {
  peek(): number;
  readSequence(tag?: number): number;
  readString(tag?: number, asBuffer?: boolean): string;
  readInt(): number;
}
interface LdapjsConnection extends Socket {
  parser: { write(data: Buffer): void };
}
interface LdapjsRequest {
  connection: LdapjsConnection;
  messageId: number;
  // bind
  version?: number;
  name?: { toString(): string };
  credentials?: string;
  // extended
  requestName?: string;
  protocolOp: number;
}
interface LdapjsResponse {
  messageId: number;
  responseName?: string;
  matchedDN: string;
  diagnosticMessage: string;
  end(status?: number): void;
}
type Handler = (req: LdapjsRequest, res: LdapjsResponse, next: () => void) => void;
interface LdapjsServer {
  listen(port: number, host: string, callback: () => void): void;
  close(callback?: () => void): void;
  address(): AddressInfo;
  on(event: string, listener: (...args: unknown[]) => void): void;
  newConnection(socket: Socket): void;
  bind(name: string, handler: Handler): void;
  add(name: string, handler: Handler): void;
  modify(name: string, handler: Handler): void;
  del(name: string, handler: Handler): void;
  modifyDN(name: string, handler: Handler): void;
  compare(name: string, handler: Handler): void;
  exop(name: string, handler: Handler): void;
  _getHandlerChain(req: LdapjsRequest, res: LdapjsResponse): { backend: unknown; handlers: Handler[] };
  server: { maxConnections: number; on(event: string, listener: (...args: unknown[]) => void): void };
}
interface MessageClass {
  parseToPojo(ber: BerReader): Record<string, unknown>;
}
interface LdapjsModule {
  createServer(options: Record<string, unknown>): LdapjsServer;
  BindRequest: MessageClass;
  DN: { fromString(text: string): unknown };
  operations: Record<string, number>;
}
const ldap = ldapjs as unknown as LdapjsModule;

// ---- parser patches (process-wide, installed once) ----

const UNSUPPORTED_AUTH = 'cn=dmci-unsupported-authentication';
let patched = false;

function patchParsers(): void {
  if (patched) return;
  patched = true;

  ldap.BindRequest.parseToPojo = (ber: BerReader) => {
    const protocolOp = ber.readSequence();
    const version = ber.readInt();
    let name = ber.readString();
    const tag = ber.peek();
    let credentials = '';
    if (tag === 0x80) {
      credentials = ber.readString(0x80);
    } else {
      // SASL (0xa3) or an unknown choice: answered with authMethodNotSupported by the bind handler.
      name = UNSUPPORTED_AUTH;
    }
    // A bare address is not a DN; ldapjs would reject it before any handler. Carry it as mail=<address>.
    if (name !== '') {
      try {
        ldap.DN.fromString(name);
      } catch {
        name = `mail=${name.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/^[ #]/, (c) => `\\${c}`)}`;
        try {
          ldap.DN.fromString(name);
        } catch {
          name = 'mail=invalid';
        }
      }
    }
    return { protocolOp, version, name, authentication: 'simple', credentials };
  };
}

// ---- the server ----

interface ConnectionState {
  identity: LdapIdentity | undefined;
  inFlight: number;
  address: string;
  /** LDAPS, or after a successful StartTLS. */
  tls: boolean;
  /** Aborted when the socket closes: a bind still waiting for the hashing queue is dropped (and counted as a failure). */
  closed: AbortController;
  /** Closes the connection if no bind succeeds in time (limits.bindDeadlineMs); cleared by the first successful bind. */
  bindTimer: NodeJS.Timeout | undefined;
}

export class LdapServer {
  private readonly servers: LdapjsServer[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly states = new WeakMap<Socket, ConnectionState>();
  private readonly perAddress = new Map<string, number>();
  private readonly unread: UnreadAnswers;
  private closing = false;

  constructor(private readonly deps: LdapServerDeps) {
    patchParsers();
    this.unread = new UnreadAnswers({ nodeLimit: deps.limits.maxUnreadBytes, sockets: () => this.sockets, log: deps.log });
  }

  get connectionCount(): number {
    return this.sockets.size;
  }

  /** Starts plain LDAP, and LDAPS when a certificate is given; resolves to the bound ports. */
  async listen(options: { host: string; port: number; tls?: { port: number; cert: Buffer; key: Buffer } }): Promise<{ port: number; tlsPort: number | undefined }> {
    const port = await this.start(this.create(undefined), options.port, options.host);
    const tlsPort = options.tls ? await this.start(this.create(options.tls), options.tls.port, options.host) : undefined;
    return { port, tlsPort };
  }

  /** Stops listening and closes every open connection. */
  async close(): Promise<void> {
    this.closing = true;
    const closed = Promise.all(this.servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  private create(tls: { cert: Buffer; key: Buffer } | undefined): LdapjsServer {
    const { log } = this.deps;
    const server = ldap.createServer({
      log: ldapjsLogger(log),
      connectionRouter: (socket: Socket) => this.accept(server, socket),
      ...(tls ? { certificate: tls.cert, key: tls.key, handshakeTimeout: TLS_HANDSHAKE_TIMEOUT_MS } : {}),
    });
    // ldapjs re-emits parser errors as 'error' on the server; unheard, they would crash the process.
    server.on('error', (error) => log.debug({ err: String(error) }, 'LDAP request could not be parsed'));
    server.on('clientError', () => {});
    server.server.on('tlsClientError', () => {});
    server.server.maxConnections = this.deps.limits.maxConnections;

    // Every bind goes to our handler, the anonymous one included (ldapjs would accept that on its own).
    const route = server._getHandlerChain.bind(server);
    const bindOp = ldap.operations.LDAP_REQ_BIND;
    server._getHandlerChain = (req, res) => (req.protocolOp === bindOp ? { backend: server, handlers: [this.handler((q, s) => this.onBind(q, s))] } : route(req, res));

    const readOnly = this.handler(async () => {
      throw new LdapError(ResultCode.unwillingToPerform, 'the GAL is read-only over LDAP: change it through the dmci protocol or `dmci import`');
    });
    server.add('', readOnly);
    server.modify('', readOnly);
    server.del('', readOnly);
    server.modifyDN('', readOnly);
    server.compare('', readOnly);
    const startTls = this.deps.startTls;
    if (startTls) server.exop(STARTTLS_OID, this.handler((req, res) => this.onStartTls(server, startTls, req, res)));
    this.servers.push(server);
    return server;
  }

  private start(server: LdapjsServer, port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      server.server.on('error', reject);
      server.listen(port, host, () => resolve(server.address().port));
    });
  }

  /** Screening before ldapjs sees the connection, as the gateway does before the WebSocket upgrade. */
  private accept(server: LdapjsServer, socket: Socket): void {
    const { ipScreen, loginGuard, limits, log } = this.deps;
    socket.on('error', () => socket.destroy());
    const address = normaliseAddress(socket.remoteAddress);
    const trusted = ipScreen.isTrusted(address);
    const open = this.perAddress.get(address) ?? 0;
    const refusal = this.closing
      ? 'shutting down'
      : (ipScreen.refusal(address) ??
        (trusted ? undefined : loginGuard.blockedFor(address) > 0 ? 'blocked after failed logins' : open >= limits.maxConnectionsPerAddress ? 'too many connections from this address' : undefined));
    if (refusal) {
      log.info({ remoteAddress: address, refusal }, 'LDAP connection refused');
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    this.deps.metrics?.ldapConnections.inc();
    const tls = Boolean((socket as Partial<TLSSocket>).encrypted);
    const state: ConnectionState = { identity: undefined, inFlight: 0, address, tls, closed: new AbortController(), bindTimer: undefined };
    if (!trusted && !limits.allowAnonymous) {
      // Without anonymous access an unbound connection can only read the root DSE: holding one open is holding a slot.
      state.bindTimer = setTimeout(() => {
        log.info({ remoteAddress: address }, `LDAP connection closed: no successful bind within ${limits.bindDeadlineMs} ms`);
        socket.destroy();
      }, limits.bindDeadlineMs);
      state.bindTimer.unref();
    }
    socket.once('close', () => {
      clearTimeout(state.bindTimer);
      state.closed.abort();
      this.deps.metrics?.ldapConnections.dec();
      const remaining = (this.perAddress.get(address) ?? 1) - 1;
      if (remaining <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, remaining);
    });
    socket.setNoDelay(true);
    this.attach(server, socket, state);
  }

  /** Hands a connection (a TCP socket, or the TLS socket StartTLS made of one) to ldapjs. */
  private attach(server: LdapjsServer, socket: Socket, state: ConnectionState): void {
    const { limits, log } = this.deps;
    const { address } = state;
    this.sockets.add(socket);
    this.states.set(socket, state);
    socket.once('close', () => this.sockets.delete(socket));
    socket.setTimeout(limits.idleTimeoutMs);
    server.newConnection(socket);
    // Replace ldapjs's unbounded stream reader with one that hands over one whole message at a time.
    const connection = socket as LdapjsConnection;
    socket.removeAllListeners('data');
    const splitter = new MessageSplitter();
    socket.on('data', (chunk: Buffer) => {
      try {
        for (const message of splitter.push(chunk)) {
          const head = peekMessage(message);
          if (!head) throw new Error('not an LDAPMessage');
          // Searches are answered here (ldap-request.ts); every other operation by ldapjs.
          if (head.opTag === SEARCH_REQUEST_TAG) this.onSearch(socket, state, message);
          else connection.parser.write(message);
        }
      } catch (error) {
        log.info({ remoteAddress: address, err: (error as Error).message }, 'LDAP connection closed: not speaking LDAP within limits');
        socket.destroy();
      }
    });
  }

  /** Wraps an async handler: one response per request, whatever happens, and never an unhandled rejection. */
  private handler(handle: (req: LdapjsRequest, res: LdapjsResponse) => Promise<void>): Handler {
    return (req, res, next) => {
      const state = this.states.get(req.connection);
      const answer = (result: OperationResult) => {
        res.matchedDN = result.matchedDN;
        res.diagnosticMessage = result.message;
        res.end(result.code);
      };
      if (!state) {
        answer({ code: ResultCode.other, matchedDN: '', message: '' });
        return next();
      }
      void this.run(state, () => handle(req, res), answer).finally(next);
    };
  }

  /**
   * Runs one operation within the connection's concurrency limit; a refusal
   * or a failure is answered through `answer` (an LdapError's code, a shared
   * check's refusal as unwillingToPerform, anything else as `other`, logged).
   */
  private async run(state: ConnectionState, operation: () => Promise<void>, answer: (result: OperationResult) => void): Promise<void> {
    if (state.inFlight >= MAX_OPERATIONS_PER_CONNECTION) {
      answer({ code: ResultCode.busy, matchedDN: '', message: `at most ${MAX_OPERATIONS_PER_CONNECTION} operations at once per connection` });
      return;
    }
    state.inFlight++;
    let failure: OperationResult | undefined;
    try {
      await operation();
    } catch (error) {
      failure = this.failure(error, state);
    } finally {
      state.inFlight--;
    }
    if (failure) answer(failure);
  }

  /** The result that answers a failed operation. */
  private failure(error: unknown, state: ConnectionState): OperationResult {
    if (error instanceof LdapError) return { code: error.code, matchedDN: error.matchedDN, message: error.message };
    // A refusal by a shared check (NUL in a value, a limit): the client's fault, not a failure.
    if (error instanceof DmciError && error.code !== ErrorCode.INTERNAL) return { code: ResultCode.unwillingToPerform, matchedDN: '', message: error.message };
    this.deps.log.error({ err: error, remoteAddress: state.address }, 'LDAP operation failed');
    return { code: ResultCode.other, matchedDN: '', message: 'internal server error' };
  }

  /**
   * StartTLS: answer success in the clear, then speak TLS on the same
   * socket. RFC 4511 §4.14.1: refused while other operations are
   * outstanding, and on a connection that already has TLS.
   */
  private async onStartTls(server: LdapjsServer, context: SecureContext, req: LdapjsRequest, res: LdapjsResponse): Promise<void> {
    const raw = req.connection;
    const state = this.states.get(raw)!;
    if (state.tls) throw new LdapError(ResultCode.operationsError, 'TLS is already established on this connection');
    if (state.inFlight > 1) throw new LdapError(ResultCode.operationsError, 'StartTLS while other operations are outstanding');
    res.responseName = STARTTLS_OID;
    res.end(ResultCode.success);
    // The TLS socket takes over the TCP connection; the plain one's idle timer would otherwise fire on a busy TLS session.
    raw.setTimeout(0);
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context });
    const deadline = setTimeout(() => secure.destroy(), TLS_HANDSHAKE_TIMEOUT_MS);
    secure.once('secure', () => clearTimeout(deadline));
    secure.on('error', () => secure.destroy());
    secure.once('close', () => {
      clearTimeout(deadline);
      raw.destroy();
    });
    this.attach(server, secure, { ...state, inFlight: 0, tls: true });
    this.states.delete(raw);
  }

  private async onBind(req: LdapjsRequest, res: LdapjsResponse): Promise<void> {
    const state = this.states.get(req.connection)!;
    const started = performance.now();
    let outcome = 'other';
    try {
      // RFC 4511 §4.2.1: a bind, even a failed one, first drops the current authentication.
      state.identity = undefined;
      if (req.version !== 3) throw new LdapError(ResultCode.protocolError, 'dmci speaks LDAPv3 only');
      const name = req.name?.toString() ?? '';
      if (name === UNSUPPORTED_AUTH) throw new LdapError(ResultCode.authMethodNotSupported, 'only simple bind is supported (no SASL)');
      if (this.deps.limits.requireTls && !state.tls && (req.credentials ?? '') !== '') {
        throw new LdapError(ResultCode.confidentialityRequired, 'a password bind needs TLS here: use LDAPS or StartTLS (DMCI_LDAP_REQUIRE_TLS)');
      }
      state.identity = await this.deps.binder.bind(name, req.credentials ?? '', state.address, state.closed.signal);
      if (state.identity) {
        clearTimeout(state.bindTimer);
        state.bindTimer = undefined;
      }
      outcome = state.identity ? 'success' : 'anonymous';
    } catch (error) {
      if (error instanceof LdapError) outcome = resultCodeName(error.code);
      throw error;
    } finally {
      this.deps.metrics?.ldapBinds.inc({ outcome });
      this.deps.metrics?.ldapDuration.observe({ operation: 'bind' }, (performance.now() - started) / 1000);
    }
    this.deps.log.info({ remoteAddress: state.address, userId: state.identity?.accountId ?? null, tls: state.tls }, 'LDAP bind');
    res.end(ResultCode.success);
  }

  /** A SearchRequest message (decoded here, not by ldapjs): answered on `socket`, entries and result in as few writes as possible. */
  private onSearch(socket: Socket, state: ConnectionState, message: Buffer): void {
    const started = performance.now();
    const decoded = decodeSearchRequest(message, this.deps.limits.maxFilterBytes);
    const answer = new SearchAnswer({ write: (chunk) => this.unread.write(socket, chunk, state.address) }, decoded.messageId);
    let result = 'other';
    let entries = 0;
    const done = (outcome: OperationResult) => {
      answer.done(outcome);
      result = resultCodeName(outcome.code);
    };
    const search = async () => {
      if (decoded.problem) throw decoded.problem;
      const outcome = await this.deps.search.search(state.identity, decoded.request!, (entry) => {
        entries++;
        answer.entry(entry);
      }, this.unread.room(socket));
      done({ code: outcome.code, matchedDN: '', message: outcome.message, ...(outcome.cookie ? { cookie: outcome.cookie } : {}) });
      this.deps.log.debug({ remoteAddress: state.address, userId: state.identity?.accountId ?? null, entries, result, ms: Math.round(performance.now() - started) }, 'LDAP search');
    };
    void this.run(state, search, done).finally(() => {
      const { metrics } = this.deps;
      metrics?.ldapSearches.inc({ result });
      metrics?.ldapEntries.inc(entries);
      metrics?.ldapDuration.observe({ operation: 'search' }, (performance.now() - started) / 1000);
    });
  }
}

/** How an operation ended, as its result message carries it. */
interface OperationResult {
  code: number;
  matchedDN: string;
  message: string;
  /** The paged results control's cookie (searches). */
  cookie?: Buffer;
}

/**
 * ldapjs logs each request and response at debug, bind passwords included,
 * and computes the text eagerly. Only its warnings and errors reach our log,
 * and only their message, never the objects it passes along.
 */
function ldapjsLogger(log: Logger): Record<string, unknown> {
  const forward = (level: 'warn' | 'error') => (...args: unknown[]) => {
    const text = args.find((a): a is string => typeof a === 'string') ?? '';
    const error = args.find((a): a is Error => a instanceof Error);
    log[level]({ component: 'ldapjs', err: error?.message }, text.replace(/%[sjd]/g, '').trim() || 'ldapjs');
  };
  const logger: Record<string, unknown> = { trace() {}, debug() {}, info() {}, warn: forward('warn'), error: forward('error'), fatal: forward('error') };
  logger.child = () => logger;
  return logger;
}
