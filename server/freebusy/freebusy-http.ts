import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FreeBusyLimits } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import { DAY_MS } from '../calendar/calendar-limits.ts';
import type { Logger } from '../log/logger.ts';
import { normaliseAddress, type IpScreen } from '../security/ip-screen.ts';
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
 */

export const INTERNET_FREEBUSY_DEFAULT_DAYS = 56;

export interface FreeBusyHttpDeps {
  ctx: FreeBusyContext;
  accounts: AccountService;
  /** The same allow/deny lists as the connector and LDAP doors. */
  ipScreen: Pick<IpScreen, 'refusal'>;
  log: Logger;
  clock: () => Date;
}

type Answer = { status: number; body: string; headers?: Record<string, string> };

const text = (status: number, body: string, headers: Record<string, string> = {}): Answer => ({ status, body: body + '\n', headers });
const challenge = () => text(401, 'log in (HTTP Basic) or use your free/busy URL with its token', { 'www-authenticate': 'Basic realm="dmci free/busy", charset="UTF-8"' });

export class FreeBusyHttpDoor {
  private readonly server: Server;

  constructor(private readonly deps: FreeBusyHttpDeps) {
    this.server = createServer((req, res) => {
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      this.answer(req, abort.signal)
        .then((answer) => send(res, answer, req.method === 'HEAD'))
        .catch((error: unknown) => {
          deps.log.error({ err: error }, 'free/busy request failed');
          send(res, text(500, 'internal error'), false);
        });
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
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

  private async answer(req: IncomingMessage, signal: AbortSignal): Promise<Answer> {
    const address = normaliseAddress(req.socket.remoteAddress);
    const refusal = this.deps.ipScreen.refusal(address);
    if (refusal) return text(403, refusal);
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
    const body = renderVfreebusy(person.email, window.from.getTime(), window.to.getTime(), read.periods, this.deps.clock());
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
