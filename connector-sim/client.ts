import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import {
  CloseCode,
  decodePushChanges,
  decodeResult,
  decodeServerFrame,
  encodeFrame,
  ServerFrame,
  ServerFrameLimits,
  SUPPORTED_PROTOCOL_VERSIONS,
  type DecodedResult,
  type ErrorBody,
  type MethodArgsInput,
  type MethodName,
  type MethodResult,
  type PushFrame,
  type WelcomeFrame,
} from '../protocol/index.ts';

/**
 * The connector library: one persistent session to a dmci server.
 *
 * - `connect()` opens the socket, sends `hello` and resolves with `welcome`;
 * - `request()` sends a request and resolves with its result (many in flight,
 *   correlated by id; each with a timeout);
 * - pushes arrive as `push` events;
 * - with `reconnect` on, a dropped session comes back by itself with
 *   exponential backoff and jitter, authenticating with the resume token
 *   (falling back to the password if the token was refused), and emits
 *   `welcome` again so the caller can catch up with `/changes`.
 */

export interface DmciClientOptions {
  url: string;
  /**
   * Further server URLs (other nodes of the cluster). Reconnects rotate
   * through url, then these, as a client behind no load balancer would.
   */
  fallbackUrls?: readonly string[];
  login?: string;
  password?: string;
  resumeToken?: string;
  clientName?: string;
  clientVersion?: string;
  versions?: readonly number[];
  requestTimeoutMs?: number;
  reconnect?: boolean;
  reconnectMinDelayMs?: number;
  reconnectMaxDelayMs?: number;
  /** Local address to connect from (load tests spread sockets over 127.0.0.x). */
  localAddress?: string;
}

export class DmciRequestError extends Error {
  override readonly name = 'DmciRequestError';
  readonly code: string;
  readonly details: unknown;
  readonly retryAfterMs: number | undefined;
  constructor(body: ErrorBody) {
    super(`${body.code}: ${body.message}`);
    this.code = body.code;
    this.details = body.details;
    this.retryAfterMs = body.retryAfterMs;
  }
}

/** The session ended or could not start; `closeCode` says why (see CloseCode). */
export class DmciConnectionError extends Error {
  override readonly name = 'DmciConnectionError';
  constructor(
    message: string,
    readonly closeCode?: number,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

/** Close codes after which reconnecting with the same credentials is pointless. */
const FINAL_CLOSE_CODES = new Set<number>([CloseCode.UNSUPPORTED_VERSION, CloseCode.ACCOUNT_DISABLED, CloseCode.NORMAL]);

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

export interface DmciClientEvents {
  welcome: [WelcomeFrame];
  push: [PushFrame];
  close: [{ code: number; reason: string; errorCode?: string }];
  reconnecting: [{ attempt: number; delayMs: number }];
  error: [Error];
}

export class DmciClient extends EventEmitter<DmciClientEvents> {
  private ws: WebSocket | undefined;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closedByUser = false;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private attempts = 0;
  private lastError: { code: string; message: string } | undefined;
  /** The server's last "not before" hint (an error frame's retryAfterMs, an HTTP Retry-After): the next reconnect waits at least this long. */
  private retryAfterMs: number | undefined;
  welcome: WelcomeFrame | undefined;
  private urlIndex = 0;
  resumeToken: string | undefined;
  /** How long the last (re)connect took: TCP + WebSocket upgrade, then hello → welcome. */
  timings: { connectMs: number; authMs: number } | undefined;

  constructor(private readonly options: DmciClientOptions) {
    super();
    this.resumeToken = options.resumeToken;
    // An unhandled 'error' event would crash the host; errors also surface through promises.
    this.on('error', () => {});
  }

  get connected(): boolean {
    return this.welcome !== undefined && this.ws?.readyState === WebSocket.OPEN;
  }

  /** Opens the session. Rejects with DmciConnectionError when the server refuses it. */
  async connect(): Promise<WelcomeFrame> {
    this.closedByUser = false;
    return this.open();
  }

  /** A typed request; a packed result (a GAL page's entry columns) comes back in its plain shape. */
  async request<M extends MethodName>(method: M, args: MethodArgsInput<M>, options: { timeoutMs?: number } = {}): Promise<DecodedResult<M>> {
    return decodeResult(method, (await this.call(method, args as Record<string, unknown>, options)) as MethodResult<M>);
  }

  /** FreeBusy/query: busy periods, slot strings and working hours of up to 100 principals (docs/protocol.md §Free/busy). */
  freeBusy(args: MethodArgsInput<'FreeBusy/query'>): Promise<DecodedResult<'FreeBusy/query'>> {
    return this.request('FreeBusy/query', args);
  }

  /** FreeBusy/setSettings: the caller's working hours, out-of-office period and calendars' free/busy settings. */
  setFreeBusySettings(args: MethodArgsInput<'FreeBusy/setSettings'>): Promise<MethodResult<'FreeBusy/setSettings'>> {
    return this.request('FreeBusy/setSettings', args);
  }

  /** An untyped request, for methods named at run time (the CLI's `call`): the result as sent. */
  call(method: string, args: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}): Promise<unknown> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN || !this.welcome) return Promise.reject(new DmciConnectionError('not connected'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timeoutMs = options.timeoutMs ?? this.options.requestTimeoutMs ?? 30_000;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new DmciConnectionError(`${method} got no response within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      ws.send(encodeFrame({ type: 'request', id, method, args }));
    });
  }

  /** Protocol-level ping; resolves with the round-trip time in milliseconds. */
  async ping(): Promise<number> {
    const started = performance.now();
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) throw new DmciConnectionError('not connected');
    const id = `ping-${this.nextId++}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new DmciConnectionError('no pong')), this.options.requestTimeoutMs ?? 30_000);
      this.pongWaiters.set(id, () => {
        clearTimeout(timer);
        resolve();
      });
      ws.send(encodeFrame({ type: 'ping', id }));
    });
    return performance.now() - started;
  }
  private readonly pongWaiters = new Map<string, () => void>();

  /** Sends raw bytes: for fuzzing and protocol tests only. */
  sendRaw(bytes: Uint8Array | string): void {
    this.ws?.send(bytes);
  }

  async close(): Promise<void> {
    this.closedByUser = true;
    clearTimeout(this.reconnectTimer);
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      ws.close(CloseCode.NORMAL, 'client closing');
      setTimeout(() => {
        ws.terminate();
        resolve();
      }, 2000).unref();
    });
  }

  private open(): Promise<WelcomeFrame> {
    return new Promise((resolve, reject) => {
      const urls = [this.options.url, ...(this.options.fallbackUrls ?? [])];
      const url = urls[this.urlIndex % urls.length]!;
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        maxPayload: ServerFrameLimits.maxFrameBytes,
        ...(this.options.localAddress ? { localAddress: this.options.localAddress } : {}),
      });
      ws.binaryType = 'nodebuffer';
      this.ws = ws;
      this.welcome = undefined;
      const startedAt = performance.now();
      let openedAt = startedAt;
      let settled = false;
      const settle = (error?: Error, welcome?: WelcomeFrame) => {
        if (settled) return;
        settled = true;
        if (error) reject(error);
        else resolve(welcome!);
      };

      const usedResume = this.resumeToken !== undefined;
      ws.on('open', () => {
        openedAt = performance.now();
        const auth =
          this.resumeToken !== undefined
            ? { method: 'resume' as const, token: this.resumeToken }
            : { method: 'password' as const, login: this.options.login ?? '', password: this.options.password ?? '' };
        ws.send(
          encodeFrame({
            type: 'hello',
            versions: [...(this.options.versions ?? SUPPORTED_PROTOCOL_VERSIONS)],
            client: { name: this.options.clientName ?? 'dmci-sim', version: this.options.clientVersion ?? '0.1.0' },
            auth,
          }),
        );
      });
      ws.on('message', (data: Buffer) => {
        let frame: ServerFrame;
        try {
          frame = ServerFrame.parse(decodeServerFrame(data));
          // A push carries its scope's /changes page: in the shape request() returns (GAL entries unpacked from columns).
          if (frame.type === 'push' && frame.changes !== undefined) frame = { ...frame, changes: decodePushChanges(frame.scope, frame.changes) };
        } catch (error) {
          // Which request the frame answered is unknown: fail them all (the close does) rather than let one hang.
          this.emit('error', new Error(`undecodable frame from server: ${(error as Error).message}`));
          ws.close(CloseCode.PROTOCOL_ERROR, 'undecodable frame from server');
          return;
        }
        this.onFrame(frame, (welcome) => {
          const now = performance.now();
          this.timings = { connectMs: openedAt - startedAt, authMs: now - openedAt };
          settle(undefined, welcome);
        });
      });
      ws.on('unexpected-response', (_req, res) => {
        const retryAfter = Number(res.headers['retry-after']);
        if (Number.isFinite(retryAfter) && retryAfter > 0) this.retryAfterMs = retryAfter * 1000;
        settle(new DmciConnectionError(`server refused the upgrade: HTTP ${res.statusCode}`));
        ws.terminate();
      });
      ws.on('error', (error) => {
        this.emit('error', error);
        settle(new DmciConnectionError(error.message));
      });
      ws.on('close', (code, reasonBuffer) => {
        const reason = reasonBuffer.toString();
        const errorCode = this.lastError?.code;
        this.lastError = undefined;
        this.welcome = undefined;
        for (const [id, pending] of this.pending) {
          clearTimeout(pending.timer);
          pending.reject(new DmciConnectionError(`connection closed (${code}) before a response`, code));
          this.pending.delete(id);
        }
        settle(new DmciConnectionError(reason || `connection closed with ${code}`, code, errorCode));
        this.emit('close', { code, reason, ...(errorCode ? { errorCode } : {}) });
        if (code === CloseCode.AUTH_FAILED || code === CloseCode.SESSION_REVOKED) {
          // The token is dead. With a password we can still come back; without one this is final.
          this.resumeToken = undefined;
          if (this.options.password === undefined) return;
          if (code === CloseCode.AUTH_FAILED && !usedResume) return; // the password itself was refused
        }
        this.scheduleReconnect(code);
      });
    });
  }

  private onFrame(frame: ServerFrame, onWelcome: (welcome: WelcomeFrame) => void): void {
    switch (frame.type) {
      case 'welcome':
        this.welcome = frame;
        this.resumeToken = frame.resumeToken;
        this.attempts = 0;
        onWelcome(frame);
        this.emit('welcome', frame);
        return;
      case 'response': {
        const pending = this.pending.get(Number(frame.id));
        if (!pending) return;
        this.pending.delete(Number(frame.id));
        clearTimeout(pending.timer);
        if (frame.ok) pending.resolve(frame.result);
        else pending.reject(new DmciRequestError(frame.error));
        return;
      }
      case 'push':
        this.emit('push', frame);
        return;
      case 'pong': {
        const waiter = frame.id !== undefined ? this.pongWaiters.get(String(frame.id)) : undefined;
        if (waiter) {
          this.pongWaiters.delete(String(frame.id));
          waiter();
        }
        return;
      }
      case 'error':
        this.lastError = { code: frame.code, message: frame.message };
        if (frame.retryAfterMs !== undefined) this.retryAfterMs = frame.retryAfterMs;
        return;
    }
  }

  private scheduleReconnect(code: number): void {
    if (this.closedByUser || !this.options.reconnect || FINAL_CLOSE_CODES.has(code)) return;
    const min = this.options.reconnectMinDelayMs ?? 250;
    const max = this.options.reconnectMaxDelayMs ?? 30_000;
    const backoffMs = Math.round(Math.min(max, min * 2 ** this.attempts) * (0.5 + Math.random() / 2));
    // BLOCKED, LOGIN_IN_PROGRESS, SERVER_BUSY and HTTP 429/503 say when to come back: never sooner.
    const delayMs = Math.max(backoffMs, this.retryAfterMs ?? 0);
    this.retryAfterMs = undefined;
    this.attempts++;
    // The node we lost may be gone for good (4100 says so outright): try the next one.
    if ((this.options.fallbackUrls?.length ?? 0) > 0) this.urlIndex++;
    this.emit('reconnecting', { attempt: this.attempts, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.open().catch((error: Error) => this.emit('error', error));
    }, delayMs);
  }
}
