import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createRequire } from 'node:module';
import { DmciError, toDmciError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import { listenOn } from '../net/listen.ts';
import type { TlsMaterial } from '../net/tls-files.ts';
import { normaliseAddress, type IpScreen } from '../security/ip-screen.ts';
import { BadRequest, readForm, safeBack, sameOrigin, securityHeaders, send } from './console-http.ts';
import type { ConsoleContext, Request, Routes } from './console-routes.ts';
import { readCookie, tokensEqual, type ActiveSession, type ConsoleSessions } from './console-sessions.ts';
import { html, layout, loginPage, messagePage } from './html.ts';
import { consolePages } from './pages/index.ts';
import { dashboardData } from './pages/dashboard.ts';

/**
 * The admin console's door (docs/operations.md "Admin console"): its own
 * HTTP(S) server on DMCI_CONSOLE_PORT, loopback by default. Server-rendered
 * pages and POST forms (redirect after post); small browser modules only
 * for the live dashboard and sessions table. Every request: the IP
 * allow/deny lists, then the session (re-read from PostgreSQL with the
 * account's current role), then for a POST the Origin and the CSRF token.
 */

/** How often an open dashboard stream is sent fresh figures (and its session re-checked). */
export const STREAM_TICK_MS = 2_000;
/** Live streams open at once on one node, and per session. */
export const MAX_STREAMS = 100;
export const MAX_STREAMS_PER_SESSION = 4;
/** Open connections to the console door of one node; more are refused by Node until some close. */
export const MAX_CONNECTIONS = 500;

const require = createRequire(import.meta.url);

interface Asset {
  type: string;
  body: Buffer;
}

function loadAssets(): Map<string, Asset> {
  const own = (name: string) => new URL(`./assets/${name}`, import.meta.url);
  const files: Array<[string, string | URL, string]> = [
    ['console.css', own('console.css'), 'text/css; charset=utf-8'],
    ['dashboard.js', own('dashboard.js'), 'text/javascript; charset=utf-8'],
    ['live-table.js', own('live-table.js'), 'text/javascript; charset=utf-8'],
    // uPlot, served from the installed package (no CDN).
    ['uPlot.esm.js', require.resolve('uplot/dist/uPlot.esm.js'), 'text/javascript; charset=utf-8'],
    ['uPlot.min.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
  return new Map(files.map(([name, path, type]) => [name, { type, body: readFileSync(path) }]));
}

export interface ConsoleDoorDeps {
  ctx: ConsoleContext;
  sessions: ConsoleSessions;
  ipScreen: Pick<IpScreen, 'refusal'>;
  tls: TlsMaterial | undefined;
  log: Logger;
}

export class ConsoleDoor {
  private readonly server: Server;
  private readonly assets = loadAssets();
  private readonly routes: Routes = consolePages;
  private readonly streams = new Map<ServerResponse, Buffer>();
  private readonly loginCookie: string;
  private readonly log: Logger;

  constructor(private readonly deps: ConsoleDoorDeps) {
    this.log = deps.log.child({ door: 'console' });
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.handle(req, res).catch((error: unknown) => {
        const dmci = toDmciError(error);
        this.log.error({ err: dmci.cause ?? error, url: req.url }, 'console request failed');
        send(res, 500, { 'content-type': 'text/html; charset=utf-8', ...this.headers() }, messagePage('Error', 'internal error: see the server log'));
      });
    };
    this.server = deps.tls ? createHttpsServer({ cert: deps.tls.cert, key: deps.tls.key }, handler) : createHttpServer(handler);
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.maxHeadersCount = 50;
    this.server.maxConnections = MAX_CONNECTIONS;
    this.loginCookie = deps.tls ? '__Host-dmci_console_login' : 'dmci_console_login';
  }

  async listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host, this.log, 'console door');
  }

  /** Ends the live streams, then stops accepting and closes idle connections; a page being answered finishes. */
  async close(): Promise<void> {
    for (const res of this.streams.keys()) res.end();
    this.streams.clear();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const timer = setTimeout(() => this.server.closeAllConnections(), 2_000);
    await closed;
    clearTimeout(timer);
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...securityHeaders(Boolean(this.deps.tls)), 'cache-control': 'no-store', ...extra };
  }

  private html(res: ServerResponse, status: number, body: string, extra: Record<string, string | string[]> = {}): void {
    send(res, status, { ...this.headers(), 'content-type': 'text/html; charset=utf-8', ...extra }, body);
  }

  private redirect(res: ServerResponse, location: string, extra: Record<string, string | string[]> = {}): void {
    send(res, 303, { ...this.headers(), location, ...extra }, '');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = normaliseAddress(req.socket.remoteAddress);
    const refusal = this.deps.ipScreen.refusal(address);
    if (refusal) return this.html(res, 403, messagePage('Refused', refusal));
    const method = req.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'POST') return send(res, 405, { ...this.headers(), allow: 'GET, HEAD, POST', 'content-type': 'text/plain' }, 'only GET, HEAD and POST\n');
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://console.invalid');
    } catch {
      return send(res, 400, { ...this.headers(), 'content-type': 'text/plain' }, 'bad request target\n');
    }
    const path = url.pathname;
    if (path.startsWith('/assets/') && method !== 'POST') {
      const asset = this.assets.get(path.slice('/assets/'.length));
      if (!asset) return send(res, 404, { ...this.headers(), 'content-type': 'text/plain' }, 'no such asset\n');
      // Assets are public and versioned with dmci itself; they may be cached for a while.
      return send(res, 200, { ...securityHeaders(Boolean(this.deps.tls)), 'content-type': asset.type, 'cache-control': 'private, max-age=300' }, asset.body, method === 'HEAD');
    }
    if (path === '/login') return method === 'POST' ? this.login(req, res, address) : this.showLogin(req, res, url.searchParams.get('why'));
    // Browsers ask for it on their own; a redirect to the login page would only hand out another login token.
    if (path === '/favicon.ico') return send(res, 404, { ...this.headers(), 'content-type': 'text/plain' }, 'no icon\n');

    const isStream = path === '/events';
    const isPoll = req.headers['x-console-poll'] === '1';
    const found = await this.deps.sessions.lookup(req.headers.cookie, !isStream && !isPoll);
    if (!found.ok) {
      if (method === 'POST' || isStream || isPoll) return this.html(res, 401, messagePage('Logged out', found.why === 'expired' ? 'your session expired: log in again' : 'log in first'), { 'set-cookie': this.deps.sessions.clearCookie() });
      return this.redirect(res, `/login${found.why === 'none' ? '' : `?why=${found.why}`}`, { 'set-cookie': this.deps.sessions.clearCookie() });
    }
    const session = found.session;
    const request: Request = { actor: session.actor, csrf: session.csrf, here: path + url.search, query: url.searchParams, address };

    if (method === 'POST') {
      const form = await this.postedForm(req, res);
      if (!form) return;
      if (!tokensEqual(form.get('csrf'), session.csrf)) return this.html(res, 403, messagePage('Refused', 'the CSRF token is missing or wrong: reload the page and try again'));
      if (path === '/logout') {
        await this.deps.sessions.end(session.idHash);
        return this.redirect(res, '/login?why=out', { 'set-cookie': this.deps.sessions.clearCookie() });
      }
      const action = Object.hasOwn(this.routes.actions, path) ? this.routes.actions[path] : undefined;
      if (!action) return this.html(res, 404, messagePage('Not found', `no action ${path}`));
      const fallback = safeBack(form.get('back'), '/');
      try {
        const done = await action(this.deps.ctx, request, form);
        this.log.info({ admin: session.actor.email, action: path }, 'console action');
        await this.deps.sessions.flash(session.idHash, done.message);
        return this.redirect(res, done.back ?? fallback);
      } catch (error) {
        if (!(error instanceof DmciError)) throw error;
        await this.deps.sessions.flash(session.idHash, `error: ${error.message}`);
        return this.redirect(res, fallback);
      }
    }

    if (isStream) return this.stream(req, res, session);
    const page = Object.hasOwn(this.routes.pages, path) ? this.routes.pages[path] : undefined;
    if (!page) return this.html(res, 404, messagePage('Not found', `no page ${path}`));
    try {
      const shown = await page(this.deps.ctx, request);
      return this.html(res, 200, layout({ title: shown.title, section: shown.section, actor: session.actor, csrf: session.csrf, flash: found.flash ?? null, scripts: shown.scripts ?? [], styles: shown.styles ?? [] }, shown.body));
    } catch (error) {
      if (!(error instanceof DmciError)) throw error;
      const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'FORBIDDEN' ? 403 : 400;
      return this.html(res, status, layout({ title: 'Not possible', section: '', actor: session.actor, csrf: session.csrf, flash: `error: ${error.message}` }, messageBody()));
    }
  }

  /** A POST's form, once its Origin is this console's and its body is a bounded form; otherwise answers the refusal and returns undefined. */
  private async postedForm(req: IncomingMessage, res: ServerResponse): Promise<URLSearchParams | undefined> {
    if (!sameOrigin(req, Boolean(this.deps.tls))) {
      this.html(res, 403, messagePage('Refused', 'this form did not come from the console (Origin check)'));
      return undefined;
    }
    try {
      return await readForm(req);
    } catch (error) {
      if (!(error instanceof BadRequest)) throw error;
      // The rest of the body is not read: close the connection rather than drain it.
      this.html(res, error.status, messagePage('Refused', error.message), { connection: 'close' });
      return undefined;
    }
  }

  private showLogin(req: IncomingMessage, res: ServerResponse, why: string | null): void {
    // The browser's token stays while it is well-formed, so two login tabs (or a stray request) do not void each other.
    const held = readCookie(req.headers.cookie, this.loginCookie);
    const token = held && LOGIN_TOKEN.test(held) ? held : newLoginToken();
    const message = why === 'expired' ? 'Your session expired: log in again.' : why === 'revoked' ? 'Your account is no longer an enabled admin.' : why === 'out' ? 'You are logged out.' : undefined;
    this.html(res, 200, loginPage(token, message), { 'set-cookie': this.loginTokenCookie(token, 3600) });
  }

  /** Logging in: the same login guard (delays, screening, audit) as every other door, then admins only. */
  private async login(req: IncomingMessage, res: ServerResponse, address: string): Promise<void> {
    const form = await this.postedForm(req, res);
    if (!form) return;
    const expected = readCookie(req.headers.cookie, this.loginCookie);
    if (!expected || !tokensEqual(form.get('token'), expected)) return this.showLoginError(res, 403, 'The login form expired: try again.');
    const login = form.get('login')?.trim().toLowerCase() ?? '';
    const password = form.get('password') ?? '';
    if (!login || !password || login.length > 320 || password.length > 1024) return this.showLoginError(res, 400, 'Enter your email and password.');
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const outcome = await this.deps.ctx.services.accounts.authenticate(login, password, { address, door: 'console', signal: abort.signal, answerBy: Date.now() + 10_000 });
    if (!outcome.ok) {
      if (outcome.reason === 'abandoned') return;
      if (outcome.reason === 'refused') {
        this.log.warn({ remoteAddress: address, login, refused: outcome.refused }, 'console login refused');
        return this.showLoginError(res, 429, 'Too many login attempts from your address: try again later.', { 'retry-after': String(Math.ceil(outcome.retryAfterMs / 1000)) });
      }
      this.log.warn({ remoteAddress: address, login, reason: outcome.reason }, 'console login failed');
      return this.showLoginError(res, 401, 'Wrong email or password.');
    }
    if (outcome.account.role === 'user') {
      this.log.warn({ remoteAddress: address, login }, 'console login refused: not an admin');
      return this.showLoginError(res, 403, 'This account is not an admin: the console is for global and domain admins.');
    }
    const id = await this.deps.sessions.create(outcome.account.id, address);
    this.log.info({ remoteAddress: address, admin: outcome.account.email }, 'console login');
    this.redirect(res, '/', { 'set-cookie': [this.deps.sessions.setCookie(id), this.loginTokenCookie('', 0)] });
  }

  private showLoginError(res: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
    const token = newLoginToken();
    this.html(res, status, loginPage(token, message), { ...extra, 'set-cookie': this.loginTokenCookie(token, 3600) });
  }

  /** The pre-login token (double-submit: cookie and form field must match), so no other site can log a browser in. */
  private loginTokenCookie(token: string, maxAgeSeconds: number): string {
    return `${this.loginCookie}=${token}; Path=/; HttpOnly; SameSite=Strict${this.deps.tls ? '; Secure' : ''}; Max-Age=${maxAgeSeconds}`;
  }

  /** Server-Sent Events: the dashboard's figures every STREAM_TICK_MS, ended when the session ends or loses its rights. */
  private stream(req: IncomingMessage, res: ServerResponse, session: ActiveSession): void {
    const perSession = [...this.streams.values()].filter((h) => h.equals(session.idHash)).length;
    if (this.streams.size >= MAX_STREAMS || perSession >= MAX_STREAMS_PER_SESSION) {
      return send(res, 429, { ...this.headers(), 'content-type': 'text/plain', 'retry-after': '10' }, 'too many live streams\n');
    }
    res.writeHead(200, { ...this.headers(), 'content-type': 'text/event-stream; charset=utf-8', 'x-accel-buffering': 'no' });
    this.streams.set(res, session.idHash);
    let actor = session.actor;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const again = await this.deps.sessions.lookup(req.headers.cookie, false);
        if (!again.ok) {
          res.write(`event: end\ndata: ${JSON.stringify({ why: again.why })}\n\n`);
          res.end();
          return;
        }
        actor = again.session.actor;
        const data = dashboardData(await this.deps.ctx.reporter.nodes(), actor);
        res.write(`data: ${JSON.stringify(data)}\n\n`);
      } catch (error) {
        this.log.warn({ err: error }, 'console stream tick failed');
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), STREAM_TICK_MS);
    res.on('close', () => {
      clearInterval(timer);
      this.streams.delete(res);
    });
    res.write('retry: 5000\n\n');
    void tick();
  }
}

const LOGIN_TOKEN = /^[A-Za-z0-9_-]{32}$/;
const newLoginToken = () => randomBytes(24).toString('base64url');

function messageBody() {
  return html`<p><a href="/">Back to the dashboard</a></p>`;
}
