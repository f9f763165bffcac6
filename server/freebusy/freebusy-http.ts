import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { DefaultLimits, FreeBusyLimits } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import { DAY_MS } from '../calendar/calendar-limits.ts';
import type { Logger } from '../log/logger.ts';
import { normaliseAddress, type IpScreen } from '../security/ip-screen.ts';
import { PreAuthBudget, type PreAuthBudgetSettings } from '../security/preauth-budget.ts';
import { listenOn } from '../net/listen.ts';
import { readFreeBusy, type FreeBusyContext } from './freebusy-query.ts';
import { findPrincipals, publishTokenMatches } from './freebusy.repository.ts';
import { hashToken } from './freebusy.service.ts';
import type { FreeBusyViewer } from './visibility.ts';
import { renderVfreebusy } from './vfreebusy.ts';

/**
 * The Internet free/busy door (docs/operations.md §Internet free/busy):
 * `GET /freebusy/<email>.vfb` (or `.ics`) answers a VFREEBUSY for a window
 * (`start`, `end` query parameters, ISO 8601; default the next 8 weeks from
 * today 00:00 UTC; at most 62 days), the URL template Outlook's "Internet
 * Free/Busy" option and many clients accept. Who may read it:
 * - with `?token=…`, the owner's publishing token (FreeBusy/publish): time only;
 * - with HTTP Basic, an account: exactly what FreeBusy/query shows it. The
 *   password check goes through the one login guard (delays, screening);
 * - else anonymously, only if the owner's domain allows it (`anonymous`).
 * What is refused is refused alike for unknown and hidden addresses. The IP
 * allow and deny lists of the other doors apply first.
 *
 * Against floods (docs/security.md "Free/busy"): at most
 * `maxConnectionsPerAddress` open connections per address and `maxConnections`
 * in all (more are closed at once); addresses the login guard or an admin
 * blocked get 429; every request spends the address's own pre-authentication
 * budget (the DMCI_PREAUTH_* limits, counted apart from the WebSocket door's:
 * a connection per TCP connection, a frame and its header bytes per request);
 * headers within 10 s and the whole request within 15 s, checked every second
 * (Node's default check runs every 30 s, which let slow headers stay 40 s);
 * a body of at most `maxAnswerBytes`: a longer VFREEBUSY ends (DTEND) where
 * the periods that fit end.
 */

export const INTERNET_FREEBUSY_DEFAULT_DAYS = 56;

export interface FreeBusyHttpDeps {
  ctx: FreeBusyContext;
  accounts: AccountService;
  /** The same allow/deny lists as the connector and LDAP doors. */
  ipScreen: Pick<IpScreen, 'refusal' | 'isTrusted'>;
  /** Milliseconds an address stays blocked (LoginGuard.blockedFor: failed logins or an admin's block); 0 when it is not. */
  blockedFor: (address: string) => number;
  /** Open connections per address (DMCI_FREEBUSY_MAX_CONNECTIONS_PER_IP) and in all (DMCI_FREEBUSY_MAX_CONNECTIONS). */
  maxConnectionsPerAddress: number;
  maxConnections: number;
  preAuth: PreAuthBudgetSettings;
  log: Logger;
  clock: () => Date;
}

/** Longest FREEBUSY line (`FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:<stamp>/<stamp>` and CRLF) and room for the rest of the object. */
const FREEBUSY_LINE_BYTES = 68;
const VFREEBUSY_FRAME_BYTES = 1024;
/** Periods one VFREEBUSY holds at most: the body stays within maxAnswerBytes. */
export const MAX_VFREEBUSY_PERIODS = Math.floor((DefaultLimits.maxAnswerBytes - VFREEBUSY_FRAME_BYTES) / FREEBUSY_LINE_BYTES);

type Answer = { status: number; body: string; headers?: Record<string, string> };

const text = (status: number, body: string, headers: Record<string, string> = {}): Answer => ({ status, body: body + '\n', headers });
const challenge = () => text(401, 'log in (HTTP Basic) or use your free/busy URL with its token', { 'www-authenticate': 'Basic realm="dmci free/busy", charset="UTF-8"' });

export class FreeBusyHttpDoor {
  private readonly server: Server;
  private readonly perAddress = new Map<string, number>();
  private readonly budget: PreAuthBudget;

  constructor(private readonly deps: FreeBusyHttpDeps) {
    this.budget = new PreAuthBudget(deps.preAuth);
    this.server = createServer({ headersTimeout: 10_000, requestTimeout: 15_000, connectionsCheckingInterval: 1000 }, (req, res) => {
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      this.answer(req, abort.signal)
        .then((answer) => send(res, answer, req.method === 'HEAD'))
        .catch((error: unknown) => {
          deps.log.error({ err: error }, 'free/busy request failed');
          send(res, text(500, 'internal error'), false);
        });
    });
    this.server.maxConnections = deps.maxConnections;
    this.server.on('connection', (socket: Socket) => this.admit(socket));
    // Headers are all this door reads: a large header block is refused by Node before it gets here.
    this.server.maxHeadersCount = 50;
  }

  async listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host, this.deps.log, 'free/busy door');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A new TCP connection: within the per-address cap and the address's budget, or closed at once. */
  private admit(socket: Socket): void {
    const address = normaliseAddress(socket.remoteAddress);
    if (this.deps.ipScreen.isTrusted(address)) return;
    const open = this.perAddress.get(address) ?? 0;
    // Only the connection count refuses here: an address past its request budget still gets its 429 with Retry-After.
    if (open >= this.deps.maxConnectionsPerAddress || this.budget.admitConnection(address) === 'connections') {
      socket.destroy();
      return;
    }
    this.perAddress.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.perAddress.get(address) ?? 1) - 1;
      if (left <= 0) this.perAddress.delete(address);
      else this.perAddress.set(address, left);
    });
  }

  private async answer(req: IncomingMessage, signal: AbortSignal): Promise<Answer> {
    const address = normaliseAddress(req.socket.remoteAddress);
    const refusal = this.deps.ipScreen.refusal(address);
    if (refusal) return text(403, refusal);
    if (!this.deps.ipScreen.isTrusted(address)) {
      const blockedFor = this.deps.blockedFor(address);
      if (blockedFor > 0) return text(429, 'temporarily blocked (failed logins, or an admin)', { 'retry-after': String(Math.ceil(blockedFor / 1000)) });
      const headerBytes = req.rawHeaders.reduce((n, h) => n + h.length + 2, (req.url ?? '').length);
      if (this.budget.admitFrame(address, headerBytes)) {
        return text(429, 'too many requests from this address', { 'retry-after': String(Math.max(1, Math.ceil(this.budget.retryAfterMs(address) / 1000))) });
      }
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'only GET and HEAD', { allow: 'GET, HEAD' });
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = /^\/freebusy\/([^/]{3,320})\.(vfb|ics)$/.exec(url.pathname);
    if (!match) return text(404, 'not found: ask /freebusy/<email>.vfb');
    let email: string;
    try {
      email = decodeURIComponent(match[1]!).trim().toLowerCase();
    } catch {
      return text(404, 'not found');
    }
    const window = this.window(url.searchParams);
    if ('status' in window) return window;

    const token = url.searchParams.get('token');
    const authorization = req.headers.authorization;
    let viewer: FreeBusyViewer & { accountId: string | null };
    if (authorization) {
      const login = await this.login(authorization, address, signal);
      if ('status' in login) return login;
      viewer = login;
    } else if (token) {
      viewer = { kind: 'published', accountId: null };
    } else {
      viewer = { kind: 'anonymous', accountId: null };
    }

    const [entry] = await findPrincipals(this.deps.ctx.db, [email]);
    const person = entry && entry.kind !== 'group' ? entry : undefined;
    if (viewer.kind === 'published') {
      // A wrong token tells nothing about the address either.
      if (!person?.account_id || !(await publishTokenMatches(this.deps.ctx.db, person.account_id, hashToken(token!)))) return text(403, 'this free/busy URL is not (or no longer) valid');
    }
    if (!person) return viewer.kind === 'anonymous' ? challenge() : text(404, 'no such free/busy');
    const read = (await readFreeBusy(this.deps.ctx, viewer, [person], window.from, window.to)).get(person.entry_id)!;
    if (read.status !== 'ok' && read.status !== 'noData') {
      if (viewer.kind === 'anonymous') return challenge();
      return read.status === 'noRight' ? text(403, 'you may not see this free/busy') : text(404, 'no such free/busy');
    }
    // Within maxAnswerBytes: past the periods that fit, the object ends (DTEND) where the first left out starts.
    const cut = read.periods.length > MAX_VFREEBUSY_PERIODS ? read.periods[MAX_VFREEBUSY_PERIODS]!.start : null;
    const periods = cut === null ? read.periods : read.periods.slice(0, MAX_VFREEBUSY_PERIODS);
    const body = renderVfreebusy(person.email, window.from.getTime(), cut ?? window.to.getTime(), periods, this.deps.clock());
    return { status: 200, body, headers: { 'content-type': 'text/calendar; charset=utf-8', 'content-disposition': `inline; filename="freebusy.${match[2]}"` } };
  }

  private window(params: URLSearchParams): { from: Date; to: Date } | Answer {
    const parse = (name: string) => {
      const value = params.get(name);
      if (value === null) return undefined;
      const date = new Date(value);
      return Number.isNaN(date.getTime()) ? null : date;
    };
    const start = parse('start');
    const end = parse('end');
    if (start === null || end === null) return text(400, 'start and end are ISO 8601 date-times');
    const today = Math.floor(this.deps.clock().getTime() / DAY_MS) * DAY_MS;
    const from = start ?? new Date(today);
    const to = end ?? new Date(from.getTime() + INTERNET_FREEBUSY_DEFAULT_DAYS * DAY_MS);
    if (!(from < to)) return text(400, 'start must be before end');
    if (to.getTime() - from.getTime() > FreeBusyLimits.maxWindowDays * DAY_MS) return text(400, `a window covers at most ${FreeBusyLimits.maxWindowDays} days`);
    return { from, to };
  }

  /** HTTP Basic through the one login guard. */
  private async login(header: string, address: string, signal: AbortSignal): Promise<(FreeBusyViewer & { accountId: string }) | Answer> {
    const match = /^Basic ([A-Za-z0-9+/=]{1,2048})$/i.exec(header.trim());
    if (!match) return challenge();
    const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 1) return challenge();
    const outcome = await this.deps.accounts.authenticate(decoded.slice(0, colon).trim().toLowerCase(), decoded.slice(colon + 1), { address, signal });
    if (outcome.ok) return { kind: 'account', domainId: outcome.account.domain_id, accountId: outcome.account.id };
    if (outcome.reason === 'refused') return text(429, 'too many login attempts: try again later', { 'retry-after': String(Math.ceil(outcome.retryAfterMs / 1000)) });
    this.deps.log.warn({ remoteAddress: address, reason: outcome.reason }, 'free/busy login failed');
    return challenge();
  }
}

function send(res: ServerResponse, answer: Answer, headOnly: boolean): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'private, no-store', ...answer.headers });
  res.end(headOnly ? undefined : answer.body);
}
