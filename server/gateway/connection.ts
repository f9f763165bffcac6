import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import {
  ClientFrame,
  CloseCode,
  decodeFrame,
  DefaultLimits,
  Encoded,
  encodeFrame,
  encodeMap,
  ErrorCode,
  HandshakeErrorCode,
  methodFamilies,
  negotiateVersion,
  type ErrorBody,
  type HelloFrame,
  type RequestFrame,
  type RequestId,
  type WelcomeFrame,
} from '../../protocol/index.ts';
import type { AccountWithDomain, GuardedAuth } from '../accounts/account.service.ts';
import type { Logger } from '../log/logger.ts';
import type { LoginRefusal } from '../security/login-guard.ts';
import { TokenBucket } from '../security/token-bucket.ts';
import { LiveSession } from '../sessions/live-session.ts';
import type { Session, SessionTransport } from '../sessions/session.ts';
import type { GatewayContext } from './gateway-context.ts';
import { OutputBudget } from './output-budget.ts';

type State = 'awaiting-hello' | 'authenticating' | 'open' | 'closed';

const BINARY = { binary: true } as const;

/**
 * One WebSocket connection on 8390, from upgrade to close. It owns the
 * handshake and the request loop; every failure in it ends either as an error
 * response (the session lives on) or as a documented close code (the socket
 * ends) — nothing thrown here escapes to ws or the process.
 */
export class Connection implements SessionTransport {
  state: State = 'awaiting-hello';
  /** Cleared by each heartbeat round and set again by the pong. */
  alive = true;
  readonly openedAt = Date.now();
  session: Session | undefined;
  private inFlight = 0;
  private bucket: TokenBucket | undefined;
  /** The close code this side sent, for the "session closed" log line. */
  private closeCodeSent: number | undefined;
  private readonly output: OutputBudget;
  /** Fired when the socket closes during a password check: a check still waiting for the hashing queue is dropped. */
  private handshakeAbort: AbortController | undefined;

  constructor(
    private readonly ws: WebSocket,
    socket: Duplex,
    readonly connId: string,
    readonly remoteAddress: string,
    private readonly ctx: GatewayContext,
  ) {
    const { DMCI_HIGH_WATER_BYTES, DMCI_CLOSE_WATER_BYTES } = ctx.config;
    this.output = new OutputBudget(ws, socket, { highWaterBytes: DMCI_HIGH_WATER_BYTES, closeWaterBytes: DMCI_CLOSE_WATER_BYTES }, (data, isBinary) => this.onMessage(data, isBinary));
    (ws as ConnectedSocket)[connectionOf] = this;
    ws.on('message', onSocketMessage);
    ws.on('pong', onSocketPong);
    ws.on('error', onSocketError);
    ws.on('close', onSocketClose);
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  get requestsInFlight(): number {
    return this.inFlight;
  }

  get log(): Logger {
    return this.session?.log ?? this.ctx.log.child({ connId: this.connId });
  }

  /** Answers and pushes alike: past the close mark the socket is closed instead (output-budget.ts). */
  sendEncoded(bytes: Uint8Array): boolean {
    if (this.state === 'closed' || this.ws.readyState !== this.ws.OPEN) return false;
    if (!this.output.admits()) {
      this.ctx.metrics.slowConsumers.inc();
      this.log.warn({ unreadBytes: this.output.unreadBytes }, 'closing a slow consumer');
      this.close(CloseCode.SLOW_CONSUMER, 'too many unread answers and pushes; reconnect and call /changes');
      return false;
    }
    this.ws.send(bytes, BINARY);
    this.ctx.metrics.bytesOut.inc(bytes.byteLength);
    if (this.output.afterSend()) this.ctx.metrics.readingPaused.inc();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeCodeSent = code;
    try {
      this.ws.close(code, reason.slice(0, 120));
    } catch {
      this.ws.terminate();
    }
  }

  /** Sends a final `error` frame, then closes with `code`. */
  fail(code: number, errorCode: string, message: string, retryAfterMs?: number): void {
    if (this.state === 'closed') return;
    this.sendEncoded(encodeFrame({ type: 'error', code: errorCode, message, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) }));
    this.close(code, message);
  }

  terminate(): void {
    this.state = 'closed';
    this.closeCodeSent ??= 1006; // no close frame: what the client sees
    this.ws.terminate();
  }

  ping(): void {
    if (this.ws.readyState === this.ws.OPEN) this.ws.ping();
  }

  /** @internal called by the shared socket listeners below */
  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.state === 'closed' || this.output.defer(data, isBinary)) return;
    this.ctx.metrics.bytesIn.inc(data.length);
    try {
      if (!isBinary) return this.protocolError(CloseCode.PROTOCOL_ERROR, 'text frames are not accepted: send binary msgpack frames');
      if (this.state !== 'open' && this.refusedBeforeAuth(data.length)) return;
      let raw: Record<string, unknown>;
      try {
        raw = decodeFrame(data);
      } catch (error) {
        return this.protocolError(CloseCode.PROTOCOL_ERROR, (error as Error).message);
      }
      const parsed = ClientFrame.safeParse(raw);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return this.protocolError(CloseCode.PROTOCOL_ERROR, `invalid frame: ${issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'bad shape'}`);
      }
      const frame = parsed.data;
      if (this.state !== 'open') {
        if (frame.type === 'hello' && this.state === 'awaiting-hello') {
          this.state = 'authenticating';
          this.authenticate(frame).catch((error: unknown) => {
            this.log.error({ err: error }, 'handshake failed');
            this.fail(1011, ErrorCode.INTERNAL, 'internal error during the handshake');
          });
          return;
        }
        return this.protocolError(CloseCode.NOT_AUTHENTICATED, 'only a hello frame is accepted before the welcome');
      }
      if (frame.type === 'request') return this.onRequest(frame);
      if (frame.type === 'ping') {
        this.sendEncoded(encodeFrame({ type: 'pong', ...(frame.id !== undefined ? { id: frame.id } : {}), serverTime: new Date().toISOString() }));
        return;
      }
      return this.protocolError(CloseCode.PROTOCOL_ERROR, 'hello after the session was established');
    } catch (error) {
      this.log.error({ err: error }, 'unexpected error handling a frame');
      this.fail(1011, ErrorCode.INTERNAL, 'internal error');
    }
  }

  /**
   * Before authentication only a small hello is accepted, and each address
   * has a budget of frames and bytes (security/preauth-budget.ts): both are
   * checked on the frame's length, before anything is decoded.
   */
  private refusedBeforeAuth(bytes: number): boolean {
    const trusted = this.ctx.ipScreen.isTrusted(this.remoteAddress);
    const overBudget = trusted ? null : this.ctx.preAuth.admitFrame(this.remoteAddress, bytes);
    if (overBudget) {
      this.protocolError(CloseCode.POLICY_VIOLATION, `too many unauthenticated ${overBudget} from this address: retry later`);
      return true;
    }
    if (bytes > DefaultLimits.maxHelloBytes) {
      this.protocolError(CloseCode.POLICY_VIOLATION, `before authentication a frame may hold at most ${DefaultLimits.maxHelloBytes} bytes (one hello)`);
      return true;
    }
    return false;
  }

  private protocolError(code: number, message: string): void {
    this.ctx.metrics.protocolErrors.inc({ reason: closeCodeName(code) });
    if (!this.session && !this.ctx.ipScreen.isTrusted(this.remoteAddress)) this.ctx.loginGuard.recordFailure(this.remoteAddress);
    this.log.warn({ closeCode: code, reason: message }, 'closing connection for a protocol violation');
    this.fail(code, closeCodeName(code), message);
  }

  // ---- handshake ----

  private async authenticate(hello: HelloFrame): Promise<void> {
    const { ctx } = this;
    const version = negotiateVersion(hello.versions);
    if (version === null) {
      ctx.metrics.authFailures.inc({ reason: 'unsupported_version' });
      return this.fail(CloseCode.UNSUPPORTED_VERSION, HandshakeErrorCode.UNSUPPORTED_VERSION, `no common protocol version; this server speaks ${ctx.supportedVersions.join(', ')}`);
    }
    const trusted = ctx.ipScreen.isTrusted(this.remoteAddress);
    const blockedFor = trusted ? 0 : ctx.loginGuard.blockedFor(this.remoteAddress);
    if (blockedFor > 0) return this.refuse({ refused: 'blocked', retryAfterMs: blockedFor });

    const answerBy = this.openedAt + ctx.config.DMCI_AUTH_DEADLINE_MS - answerMargin(ctx.config.DMCI_AUTH_DEADLINE_MS);
    let outcome: GuardedAuth;
    if (hello.auth.method === 'password') {
      this.handshakeAbort = new AbortController();
      outcome = await ctx.accounts.authenticate(hello.auth.login, hello.auth.password, { address: this.remoteAddress, answerBy, signal: this.handshakeAbort.signal });
    } else {
      outcome = (await ctx.accounts.checkResumeToken(hello.auth.token)) ?? { ok: false, reason: 'bad_credentials' };
      if (!outcome.ok && !trusted) {
        // A bad token is no password guess (tokens are 256 random bits) but counts towards blocking the address.
        const delayMs = Math.min(ctx.loginGuard.recordFailure(this.remoteAddress), answerBy - Date.now());
        if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs)); // tarpit, then close
      }
    }
    if (this.state !== 'authenticating') return; // the socket closed meanwhile

    if (!outcome.ok) {
      if (outcome.reason === 'abandoned') return;
      if (outcome.reason === 'refused') return this.refuse(outcome);
      ctx.metrics.authFailures.inc({ reason: outcome.reason === 'disabled' ? 'disabled' : hello.auth.method === 'password' ? 'bad_password' : 'bad_token' });
      // The login tried (never the password) and the address: what an admin needs to tell a typo from an attack.
      const login = hello.auth.method === 'password' ? hello.auth.login : undefined;
      this.log.warn({ method: hello.auth.method, login, reason: outcome.reason, remoteAddress: this.remoteAddress }, 'authentication failed');
      if (outcome.reason === 'disabled') return this.fail(CloseCode.ACCOUNT_DISABLED, HandshakeErrorCode.ACCOUNT_DISABLED, 'this account is disabled');
      return this.fail(CloseCode.AUTH_FAILED, HandshakeErrorCode.AUTH_FAILED, hello.auth.method === 'password' ? 'wrong login or password' : 'resume token unknown, expired or revoked');
    }

    const account = outcome.account;
    // The slot is reserved before the awaits below, so parallel logins cannot all pass the check and overshoot the cap.
    if (!ctx.sessions.reserve(account.id, ctx.config.DMCI_MAX_SESSIONS_PER_USER)) {
      ctx.metrics.authFailures.inc({ reason: 'too_many_sessions' });
      return this.fail(CloseCode.TOO_MANY_SESSIONS, HandshakeErrorCode.TOO_MANY_SESSIONS, `at most ${ctx.config.DMCI_MAX_SESSIONS_PER_USER} sessions per account on one node`);
    }
    try {
      await this.open(hello, version, account);
    } finally {
      ctx.sessions.unreserve(account.id);
    }
  }

  /** A login the guard turned away before checking it: BLOCKED, LOGIN_IN_PROGRESS or SERVER_BUSY, each with retryAfterMs. */
  private refuse(refusal: Pick<LoginRefusal, 'refused' | 'retryAfterMs'>): void {
    this.ctx.metrics.authFailures.inc({ reason: refusal.refused });
    const { retryAfterMs } = refusal;
    if (refusal.refused === 'blocked') return this.fail(CloseCode.BLOCKED, HandshakeErrorCode.BLOCKED, 'too many failed attempts from this address', retryAfterMs);
    if (refusal.refused === 'busy') {
      return this.fail(CloseCode.LOGIN_IN_PROGRESS, HandshakeErrorCode.LOGIN_IN_PROGRESS, 'another login attempt from this address or for this login is being checked', retryAfterMs);
    }
    this.fail(CloseCode.SERVER_BUSY, HandshakeErrorCode.SERVER_BUSY, 'too many logins are being checked; try again later', retryAfterMs);
  }

  /** The rest of a successful handshake: nothing below may refuse it but draining or a resume token taken meanwhile. */
  private async open(hello: HelloFrame, version: number, account: AccountWithDomain): Promise<void> {
    const { ctx } = this;
    this.handshakeAbort = undefined;
    if (ctx.isDraining()) {
      return this.fail(CloseCode.GOING_AWAY, ErrorCode.UNAVAILABLE, 'server is shutting down; reconnect to another node');
    }
    // A resume token is used up only now, once nothing else can refuse the handshake.
    if (hello.auth.method === 'resume' && !(await ctx.accounts.consumeResumeToken(hello.auth.token))) {
      if (this.state !== 'authenticating') return;
      ctx.metrics.authFailures.inc({ reason: 'bad_token' });
      return this.fail(CloseCode.AUTH_FAILED, HandshakeErrorCode.AUTH_FAILED, 'resume token unknown, expired or revoked');
    }
    if (this.state !== 'authenticating') return;

    const sessionId = randomBytes(16).toString('base64url');
    const issued = await ctx.accounts.issueResumeToken(account.id, sessionId, hello.client.name);
    if (this.state !== 'authenticating') return;

    this.session = new LiveSession(
      sessionId,
      this,
      { id: account.id, email: account.email, displayName: account.display_name, role: account.role, domain: account.domain_name, domainId: account.domain_id },
      version,
      hello.client.name,
      account.password_changed_at,
      ctx.log,
    );
    this.state = 'open';
    ctx.sessions.add(this.session);
    ctx.metrics.authSuccesses.inc({ method: hello.auth.method });
    const welcome: WelcomeFrame = {
      type: 'welcome',
      version,
      sessionId,
      heartbeatMs: ctx.config.DMCI_HEARTBEAT_MS,
      limits: ctx.limits,
      capabilities: methodFamilies(),
      account: { id: account.id, email: account.email, displayName: account.display_name, role: account.role, domain: account.domain_name },
      resumeToken: issued.token,
      resumeTokenExpiresAt: issued.expiresAt.toISOString(),
    };
    this.sendEncoded(encodeFrame(welcome));
    this.session.log.info({ version, client: hello.client, method: hello.auth.method }, 'session opened');
  }

  // ---- requests ----

  private onRequest(frame: RequestFrame): void {
    const session = this.session!;
    if (this.ctx.isDraining()) return this.respondError(frame.id, { code: ErrorCode.UNAVAILABLE, message: 'server is shutting down; reconnect to another node' });
    // Created on the first request: most sessions sit idle, and idle sessions should cost next to nothing.
    this.bucket ??= new TokenBucket(this.ctx.config.DMCI_REQUESTS_PER_SECOND, this.ctx.config.DMCI_REQUEST_BURST);
    const waitMs = this.bucket.take();
    if (waitMs > 0) {
      return this.respondError(frame.id, { code: ErrorCode.RATE_LIMITED, message: `more than ${this.ctx.config.DMCI_REQUESTS_PER_SECOND} requests per second`, retryAfterMs: waitMs });
    }
    if (this.inFlight >= this.ctx.config.DMCI_MAX_IN_FLIGHT) {
      return this.respondError(frame.id, { code: ErrorCode.TOO_MANY_IN_FLIGHT, message: `at most ${this.ctx.config.DMCI_MAX_IN_FLIGHT} requests in flight per connection` });
    }
    this.inFlight++;
    const requestCtx = { session, actor: session.actor, log: session.log };
    withTimeout(this.ctx.dispatcher.dispatch(frame.method, frame.args, requestCtx), this.ctx.config.DMCI_REQUEST_TIMEOUT_MS)
      .then((outcome) => {
        if (outcome === 'timeout') {
          return this.respondError(frame.id, { code: ErrorCode.TIMEOUT, message: `no result within ${this.ctx.config.DMCI_REQUEST_TIMEOUT_MS} ms` });
        }
        if (outcome.ok) this.respond(frame.id, outcome.result);
        else this.respondError(frame.id, outcome.error);
      })
      .catch((error: unknown) => {
        session.log.error({ err: error }, 'failed to send a response');
        this.respondError(frame.id, { code: ErrorCode.INTERNAL, message: 'internal server error' });
      })
      .finally(() => {
        this.inFlight--;
        if (this.inFlight === 0) this.ctx.onIdle(this);
      });
  }

  private respond(id: RequestId, result: unknown): void {
    const bytes = result instanceof Encoded ? encodeMap({ type: 'response', id, ok: true, result }).bytes : encodeFrame({ type: 'response', id, ok: true, result });
    // The page builders keep answers within the limit (answer-budget.ts); this is the backstop for any that does not.
    if (bytes.byteLength > this.ctx.limits.maxAnswerBytes) {
      this.log.warn({ bytes: bytes.byteLength, limit: this.ctx.limits.maxAnswerBytes }, 'refusing an answer over maxAnswerBytes');
      return this.respondError(id, {
        code: ErrorCode.LIMIT_EXCEEDED,
        message: `the answer would be ${bytes.byteLength} bytes, over maxAnswerBytes (${this.ctx.limits.maxAnswerBytes}): ask for less`,
        details: { limit: this.ctx.limits.maxAnswerBytes, actual: bytes.byteLength },
      });
    }
    this.sendEncoded(bytes);
  }

  private respondError(id: RequestId, error: ErrorBody): void {
    this.sendEncoded(encodeFrame({ type: 'response', id, ok: false, error }));
  }

  /** @internal */
  onClosed(code: number): void {
    // The client hung up without ever sending a hello: what a reconnect storm or a
    // scanner looks like, so it counts as a failed login (DESIGN §7). Closes the
    // server started have already set 'closed'.
    if (this.state === 'awaiting-hello' && !this.ctx.ipScreen.isTrusted(this.remoteAddress)) {
      this.ctx.loginGuard.recordFailure(this.remoteAddress);
    }
    this.state = 'closed';
    this.handshakeAbort?.abort();
    this.handshakeAbort = undefined;
    if (this.session) {
      this.ctx.sessions.remove(this.session);
      // The code the server sent when it closed, else the client's (1006: the connection just dropped).
      this.session.log.info({ closeCode: this.closeCodeSent ?? code, closedBy: this.closeCodeSent === undefined ? 'client' : 'server' }, 'session closed');
    }
    this.ctx.onConnectionClosed(this);
  }
}

/**
 * Socket listeners shared by every connection (the socket carries its
 * connection): one closure per socket and event would cost memory at 20,000
 * sockets for nothing.
 */
const connectionOf = Symbol('dmci.connection');
type ConnectedSocket = WebSocket & { [connectionOf]: Connection };

function onSocketMessage(this: WebSocket, data: unknown, isBinary: boolean): void {
  (this as ConnectedSocket)[connectionOf].onMessage(data as Buffer, isBinary);
}
function onSocketPong(this: WebSocket): void {
  (this as ConnectedSocket)[connectionOf].alive = true;
}
function onSocketError(this: WebSocket, error: Error): void {
  (this as ConnectedSocket)[connectionOf].log.debug({ err: error }, 'socket error');
}
function onSocketClose(this: WebSocket, code: number): void {
  (this as ConnectedSocket)[connectionOf].onClosed(code);
}

/**
 * How long before the handshake deadline a login is answered at the latest
 * (the failed-login delay is cut short there): a quarter of the deadline, at
 * most a second, so the answer is AUTH_FAILED and never AUTH_TIMEOUT.
 */
export function answerMargin(deadlineMs: number): number {
  return Math.min(1000, Math.floor(deadlineMs / 4));
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const closeCodeNames = new Map<number, string>();
export function closeCodeName(code: number): string {
  if (closeCodeNames.size === 0) for (const [name, value] of Object.entries(CloseCode)) closeCodeNames.set(value, name);
  return closeCodeNames.get(code) ?? String(code);
}
