import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../server/accounts/actor.ts';
import { hashId } from '../../server/console/console-sessions.ts';
import { MAX_BODY_BYTES, safeBack } from '../../server/console/console-http.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { ConsoleHttp } from './console-client.ts';

/** The console door over plain HTTP: sessions, CSRF, Origin, hostile input, roles. */
let server: TestServer;
let base: string;

beforeAll(async () => {
  server = await startTestServer({ DMCI_CONSOLE_IDLE_MS: '1500' });
  base = `http://127.0.0.1:${server.app.consolePort}`;
  await server.createAccount('root@alpha.test', DEFAULT_PASSWORD, 'global_admin');
  await server.createAccount('boss@alpha.test', DEFAULT_PASSWORD, 'domain_admin');
  await server.createAccount('pat@alpha.test');
  await server.createAccount('boss@beta.test', DEFAULT_PASSWORD, 'domain_admin');
  await server.createAccount('sam@beta.test');
}, 60_000);
afterAll(() => server?.stop());

async function loggedIn(email: string): Promise<ConsoleHttp> {
  const browser = new ConsoleHttp(base);
  const response = await browser.login(email, DEFAULT_PASSWORD);
  expect(response.status, await response.text()).toBe(303);
  return browser;
}

const auditOf = (action: string) => server.app.services.audit.list(systemActor, { limit: 100 }).then((rows) => rows.filter((r) => r.action === action));

describe('console door', () => {
  it('answers with security headers and sends strangers to the login page', async () => {
    const browser = new ConsoleHttp(base);
    const response = await browser.get('/');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
    const login = await browser.get('/login');
    expect(login.status).toBe(200);
    expect(login.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(login.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(login.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(login.headers.get('x-frame-options')).toBe('DENY');
    expect(login.headers.get('cache-control')).toBe('no-store');
  });

  it('logs an admin in with an HttpOnly SameSite=Strict cookie whose id is stored only hashed', async () => {
    const browser = new ConsoleHttp(base);
    const response = await browser.login('root@alpha.test', DEFAULT_PASSWORD);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((c) => c.startsWith('dmci_console='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const id = browser.cookies.get('dmci_console')!;
    const rows = await server.app.db.selectFrom('console_sessions').select('id_hash').execute();
    expect(rows.some((r) => r.id_hash.equals(hashId(id)))).toBe(true);
    expect(rows.some((r) => r.id_hash.toString('base64url') === id)).toBe(false);
    const page = await browser.get('/');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('root@alpha.test');
    expect((await auditOf('login.ok')).some((r) => r.actor === 'root@alpha.test' && (r.detail as { door?: string }).door === 'console')).toBe(true);
  });

  it('refuses a user, and a wrong password, through the login guard (audited with door console)', async () => {
    const user = new ConsoleHttp(base);
    const refused = await user.login('pat@alpha.test', DEFAULT_PASSWORD);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('not an admin');
    expect(user.cookies.has('dmci_console')).toBe(false);
    const wrong = await new ConsoleHttp(base).login('root@alpha.test', 'not the password');
    expect(wrong.status).toBe(401);
    expect((await auditOf('login.failed')).some((r) => r.actor === 'root@alpha.test' && (r.detail as { door?: string }).door === 'console')).toBe(true);
  });

  it('refuses a login form without its pre-login token, or from another origin', async () => {
    const browser = new ConsoleHttp(base);
    await browser.get('/login');
    expect((await browser.post('/login', { token: 'forged', login: 'root@alpha.test', password: DEFAULT_PASSWORD })).status).toBe(403);
    const page = await browser.get('/login');
    const token = /name="token" value="([^"]+)"/.exec(await page.text())![1]!;
    expect((await browser.post('/login', { token, login: 'root@alpha.test', password: DEFAULT_PASSWORD }, { origin: 'http://evil.test' })).status).toBe(403);
    expect(browser.cookies.has('dmci_console')).toBe(false);
  });

  it('refuses a state change without the CSRF token, with a wrong one, or from another origin', async () => {
    const browser = await loggedIn('root@alpha.test');
    const csrf = await browser.csrf('/accounts');
    const fields = { email: 'csrf1@alpha.test', displayName: 'C', password: DEFAULT_PASSWORD, role: 'user', back: '/accounts' };
    expect((await browser.post('/accounts/create', fields)).status).toBe(403);
    expect((await browser.post('/accounts/create', { ...fields, csrf: csrf.slice(0, -2) + 'xx' })).status).toBe(403);
    expect((await browser.post('/accounts/create', { ...fields, csrf }, { origin: 'http://evil.test' })).status).toBe(403);
    const noOrigin = await browser.request('/accounts/create', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ ...fields, csrf }).toString() });
    expect(noOrigin.status).toBe(403);
    await expect(server.app.services.accounts.get(systemActor, 'csrf1@alpha.test')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    // The same form with its token and Origin goes through.
    const ok = await browser.post('/accounts/create', { ...fields, csrf });
    expect(ok.status).toBe(303);
    expect((await server.app.services.accounts.get(systemActor, 'csrf1@alpha.test')).email).toBe('csrf1@alpha.test');
  });

  it('refuses hostile bodies with clear statuses and stays up', async () => {
    const browser = await loggedIn('root@alpha.test');
    const csrf = await browser.csrf();
    const big = await browser.post('/accounts/create', { csrf, filler: 'x'.repeat(MAX_BODY_BYTES + 10) });
    expect(big.status).toBe(413);
    const json = await browser.request('/accounts/create', { method: 'POST', headers: { 'content-type': 'application/json', origin: browser.origin }, body: '{}' });
    expect(json.status).toBe(415);
    const many = await browser.post('/accounts/create', Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`f${i}`, 'x'])));
    expect(many.status).toBe(400);
    const bad = await browser.post('/accounts/create', { csrf, email: 'not an email', displayName: 'x', password: DEFAULT_PASSWORD, back: '/accounts' });
    expect(bad.status).toBe(303);
    expect(await (await browser.get('/accounts')).text()).toMatch(/error: email/);
    expect((await browser.request('/', { method: 'PUT' })).status).toBe(405);
    expect((await browser.get('/%zz')).status).toBe(404);
    expect((await browser.get('/')).status).toBe(200);
  });

  it('treats a bad, foreign or oversized cookie as no session', async () => {
    for (const value of ['garbage', 'A'.repeat(43), 'x'.repeat(4000), '%00%ff']) {
      const browser = new ConsoleHttp(base);
      browser.cookies.set('dmci_console', value);
      const page = await browser.get('/accounts');
      expect(page.status).toBe(303);
      expect(page.headers.get('location')).toBe('/login');
      const post = await browser.post('/accounts/create', { csrf: 'x' });
      expect(post.status).toBe(401);
    }
  });

  it('ends a session after the idle timeout', async () => {
    const browser = await loggedIn('root@alpha.test');
    expect((await browser.get('/')).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const page = await browser.get('/');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?why=expired');
  });

  it('drops a demoted admin on the next request', async () => {
    await server.createAccount('temp@alpha.test', DEFAULT_PASSWORD, 'domain_admin');
    const browser = await loggedIn('temp@alpha.test');
    expect((await browser.get('/accounts')).status).toBe(200);
    await server.app.services.accounts.update(systemActor, 'temp@alpha.test', { role: 'user' });
    const page = await browser.get('/accounts');
    expect(page.status).toBe(303);
    expect(page.headers.get('location')).toBe('/login?why=revoked');
  });

  it('shows a domain admin only their domain and lets them change nothing elsewhere', async () => {
    const browser = await loggedIn('boss@alpha.test');
    const list = await (await browser.get('/accounts')).text();
    expect(list).toContain('pat@alpha.test');
    expect(list).not.toContain('sam@beta.test');
    expect((await browser.get('/accounts/view?email=sam%40beta.test')).status).toBe(404);
    expect((await browser.get('/screening')).status).toBe(403);
    const csrf = await browser.csrf('/accounts');
    const refused = await browser.post('/accounts/disable', { csrf, email: 'sam@beta.test', back: '/accounts' });
    expect(refused.status).toBe(303);
    expect(await (await browser.get('/accounts')).text()).toContain('error: account sam@beta.test not found');
    expect((await server.app.services.accounts.get(systemActor, 'sam@beta.test')).enabled).toBe(true);
    const audit = await (await browser.get('/audit')).text();
    expect(audit).not.toContain('sam@beta.test');
  });

  it('escapes what admins and imports typed in', async () => {
    await server.createAccount('xss@alpha.test', DEFAULT_PASSWORD, 'user', '<script>alert(1)</script><img src=x onerror=alert(2)>');
    const browser = await loggedIn('root@alpha.test');
    const page = await (await browser.get('/accounts?q=xss')).text();
    expect(page).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(page).not.toContain('<script>alert');
    expect(page).not.toContain('<img src=x');
    const search = await (await browser.get('/accounts?q=%22%3E%3Cscript%3E')).text();
    expect(search).not.toContain('"><script>');
  });

  it('comes back after a form only to a path of its own', () => {
    for (const bad of ['//evil.test', '/\\evil.test', '/\t/evil.test', '/\n/evil.test', 'https://evil.test', '', '/a b']) expect(safeBack(bad, '/'), JSON.stringify(bad)).toBe('/');
    for (const good of ['/accounts?q=a%20b', '/accounts/view?email=x%40y.test']) expect(safeBack(good, '/')).toBe(good);
  });

  it('serves uPlot from the installed package', async () => {
    const script = await new ConsoleHttp(base).get('/assets/uPlot.esm.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toContain('javascript');
    expect((await new ConsoleHttp(base).get('/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});

describe('console start-up', () => {
  it('fails with one clear message when its port is taken', async () => {
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    try {
      await expect(startTestServer({ DMCI_CONSOLE_PORT: String(port) })).rejects.toThrow(`console door cannot listen on 127.0.0.1:${port}: the address is already in use`);
    } finally {
      squatter.close();
    }
  });
});

/** One HTTPS request that accepts the test's self-signed certificate. */
function https(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers: options.headers ?? {}, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

describe('console over TLS', () => {
  it('speaks HTTPS with the doors\' certificate and sets Secure, __Host- cookies', async () => {
    const certDir = mkdtempSync(join(tmpdir(), 'dmci-console-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    const tls = await startTestServer({ DMCI_TLS_CERT: join(certDir, 'cert.pem'), DMCI_TLS_KEY: join(certDir, 'key.pem') });
    try {
      await tls.createAccount('root@tls.test', DEFAULT_PASSWORD, 'global_admin');
      const origin = `https://127.0.0.1:${tls.app.consolePort}`;
      const page = await https(`${origin}/login`);
      expect(page.status).toBe(200);
      expect(page.headers['strict-transport-security']).toBeDefined();
      const loginCookie = (page.headers['set-cookie'] as string[])[0]!;
      expect(loginCookie).toMatch(/^__Host-dmci_console_login=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Secure/);
      const token = /name="token" value="([^"]+)"/.exec(page.body)![1]!;
      const login = await https(`${origin}/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin, cookie: loginCookie.split(';')[0]! },
        body: new URLSearchParams({ token, login: 'root@tls.test', password: DEFAULT_PASSWORD }).toString(),
      });
      expect(login.status, login.body).toBe(303);
      const session = (login.headers['set-cookie'] as string[]).find((c) => c.startsWith('__Host-dmci_console='))!;
      expect(session).toMatch(/HttpOnly; SameSite=Strict; Secure/);
      // Plain HTTP to the TLS door is not served.
      await expect(fetch(`http://127.0.0.1:${tls.app.consolePort}/login`)).rejects.toThrow();
    } finally {
      await tls.stop();
      rmSync(certDir, { recursive: true, force: true });
    }
  });
});
