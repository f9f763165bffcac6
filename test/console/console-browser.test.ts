import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../server/accounts/actor.ts';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { REPO_ROOT } from '../helpers/run.ts';

/**
 * The admin console in a real browser: playwright-core driving Debian's
 * chromium (.ci/run installs it). One browser for the file, one context per
 * admin. Each page is saved as a screenshot under test-results/console/.
 */
const CHROMIUM = process.env.DMCI_CHROMIUM ?? '/usr/bin/chromium';
const SHOTS = `${REPO_ROOT}/test-results/console`;

let server: TestServer;
let browser: Browser;
let base: string;
const contexts: BrowserContext[] = [];

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  server = await startTestServer();
  base = `http://127.0.0.1:${server.app.consolePort}`;
  await server.createAccount('root@alpha.test', DEFAULT_PASSWORD, 'global_admin', 'Root Admin');
  await server.createAccount('pat@alpha.test', DEFAULT_PASSWORD, 'user', 'Pat Alpha');
  await server.createAccount('boss@beta.test', DEFAULT_PASSWORD, 'domain_admin', 'Beta Boss');
  await server.createAccount('sam@beta.test', DEFAULT_PASSWORD, 'user', 'Sam Beta');
  const { directory } = server.app.services;
  const contact = await directory.adminCreate(systemActor, { domain: 'alpha.test', kind: 'person', fields: { displayName: 'Carla Contact', email: 'carla@partner.test' }, ifNotExists: false });
  await directory.adminCreate(systemActor, { domain: 'alpha.test', kind: 'group', fields: { displayName: 'Team Alpha', email: 'team@alpha.test' }, memberIds: [contact.entry.id], ifNotExists: false });
  await directory.adminCreate(systemActor, { domain: 'alpha.test', kind: 'resource', fields: { displayName: 'Harbour Room', email: 'harbour@alpha.test', resourceType: 'room', capacity: 8 }, ifNotExists: false });
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}, 120_000);

afterAll(async () => {
  for (const context of contexts) await context.close();
  await browser?.close();
  await server?.stop();
});

async function logIn(email: string, console = base): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  contexts.push(context);
  const page = await context.newPage();
  await page.goto(`${console}/`);
  expect(new URL(page.url()).pathname).toBe('/login');
  await page.fill('input[name=login]', email);
  await page.fill('input[name=password]', DEFAULT_PASSWORD);
  await Promise.all([page.waitForLoadState('load'), page.click('button[type=submit]')]);
  return page;
}

const shot = (page: Page, name: string) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });
const text = (page: Page, selector: string) => page.locator(selector).innerText();

function closed(client: DmciClient): Promise<number> {
  return new Promise((resolve) => client.once('close', ({ code }) => resolve(code)));
}

describe('admin console in chromium', { timeout: 90_000 }, () => {
  let admin: Page;

  it('logs a global admin in; the live dashboard counts connector sessions as they connect', async () => {
    admin = await logIn('root@alpha.test');
    expect(new URL(admin.url()).pathname).toBe('/');
    await admin.waitForSelector('#live:text-matches("live")');
    const before = Number(await text(admin, '#sessions'));
    for (let i = 0; i < 3; i++) await server.connect('pat@alpha.test', DEFAULT_PASSWORD, { clientName: 'outlook-connector' });
    // The page is not reloaded: the Server-Sent Events stream brings the new count.
    await expect.poll(() => text(admin, '#sessions'), { timeout: 20_000 }).toBe(String(before + 3));
    await expect.poll(() => text(admin, '#byClient'), { timeout: 20_000 }).toContain('outlook-connector');
    expect(await text(admin, '#nodes')).toContain(server.app.services.nodeId);
    await admin.waitForSelector('#chart canvas');
    await shot(admin, 'dashboard');
  });

  it('creates a user, then disabling it drops its live session', async () => {
    await admin.goto(`${base}/accounts`);
    await admin.fill('form[action="/accounts/create"] input[name=email]', 'newbie@alpha.test');
    await admin.fill('form[action="/accounts/create"] input[name=displayName]', 'New Bie');
    await admin.fill('form[action="/accounts/create"] input[name=password]', 'a fine new password');
    await Promise.all([admin.waitForURL(/\/accounts\/view/), admin.click('form[action="/accounts/create"] button')]);
    expect(await text(admin, '.flash')).toContain('created newbie@alpha.test');
    const client = await server.connect('newbie@alpha.test', 'a fine new password', { reconnect: false, clientName: 'newbie-phone' });
    const gone = closed(client);
    // Its session appears in the account's live table (refreshed in place by live-table.js).
    await expect.poll(() => text(admin, '#account-sessions'), { timeout: 20_000 }).toContain('newbie-phone');
    await shot(admin, 'account');
    await Promise.all([admin.waitForLoadState('load'), admin.click('form[action="/accounts/disable"] button')]);
    expect(await text(admin, '.flash')).toContain('disabled newbie@alpha.test');
    expect(await gone).toBe(4005);
    expect(await text(admin, '#state')).toBe('disabled');
    await admin.goto(`${base}/accounts?q=alpha`);
    await shot(admin, 'accounts');
  });

  it('disconnects a session from the sessions page', async () => {
    const client = await server.connect('sam@beta.test', DEFAULT_PASSWORD, { reconnect: false, clientName: 'sam-laptop' });
    const gone = closed(client);
    await admin.goto(`${base}/sessions?q=sam-laptop`);
    await expect.poll(() => text(admin, '#sessions'), { timeout: 20_000 }).toContain('sam@beta.test');
    await shot(admin, 'sessions');
    await Promise.all([admin.waitForLoadState('load'), admin.click('#sessions form[action="/sessions/disconnect"] button')]);
    expect(await text(admin, '.flash')).toContain('disconnected sam@beta.test');
    expect(await gone).toBe(4006);
  });

  it('unblocks an address on the screening page', async () => {
    await server.app.services.screen.block(systemActor, '203.0.113.9', { reason: 'too many guesses' });
    await admin.goto(`${base}/screening`);
    const row = admin.locator('tr[data-block="203.0.113.9"]');
    expect(await row.innerText()).toContain('too many guesses');
    await shot(admin, 'screening');
    await Promise.all([admin.waitForLoadState('load'), row.locator('button').click()]);
    expect(await text(admin, '.flash')).toContain('unblocked 203.0.113.9');
    expect(await admin.locator('tr[data-block="203.0.113.9"]').count()).toBe(0);
    const { blocks } = await server.app.services.screen.overview(systemActor);
    expect(blocks.map((b) => b.key)).not.toContain('203.0.113.9');
    // The lists: add a deny range, then remove it.
    await admin.selectOption('form[action="/screening/add"] select[name=list]', 'ip_deny');
    await admin.fill('form[action="/screening/add"] input[name=value]', '198.51.100.0/24');
    await admin.fill('form[action="/screening/add"] input[name=note]', 'scanner');
    await Promise.all([admin.waitForLoadState('load'), admin.click('form[action="/screening/add"] button')]);
    expect(await text(admin, '.flash')).toContain('added 198.51.100.0/24 to IP deny');
    expect((await server.app.services.screen.overview(systemActor)).rules).toContainEqual(expect.objectContaining({ list: 'ip_deny', value: '198.51.100.0/24' }));
    await shot(admin, 'screening-lists');
    await Promise.all([admin.waitForLoadState('load'), admin.locator('#rules tr', { hasText: '198.51.100.0/24' }).locator('button').click()]);
    expect(await text(admin, '.flash')).toContain('removed 198.51.100.0/24');
    expect((await server.app.services.screen.overview(systemActor)).rules.map((r) => r.value)).not.toContain('198.51.100.0/24');
  });

  it('shows domains, the directory (groups with members, resources with their policy) and the audit log', async () => {
    await admin.goto(`${base}/domains`);
    expect(await text(admin, '#domains')).toContain('beta.test');
    await shot(admin, 'domains');
    await admin.goto(`${base}/directory?domain=alpha.test&view=contacts`);
    expect(await text(admin, '#directory')).toContain('Carla Contact');
    expect(await text(admin, '#directory')).not.toContain('Pat Alpha');
    await admin.goto(`${base}/directory?domain=alpha.test&view=people`);
    expect(await text(admin, '#directory')).toContain('Pat Alpha');
    expect(await text(admin, '#directory')).not.toContain('Carla Contact');
    await admin.goto(`${base}/directory?domain=alpha.test&view=groups`);
    await shot(admin, 'directory');
    await Promise.all([admin.waitForLoadState('load'), admin.click('text=Team Alpha')]);
    expect(await text(admin, 'main')).toContain('Carla Contact');
    await admin.goto(`${base}/directory?domain=alpha.test&view=resources`);
    await Promise.all([admin.waitForLoadState('load'), admin.click('text=Harbour Room')]);
    await admin.selectOption('select[name=mode]', 'approval');
    await Promise.all([admin.waitForLoadState('load'), admin.click('form[action="/directory/policy"] button')]);
    expect(await text(admin, '.flash')).toContain('saved the booking policy');
    expect((await server.app.services.resources.get(systemActor, 'harbour@alpha.test')).policy.mode).toBe('approval');
    await shot(admin, 'resource');
    await admin.goto(`${base}/audit`);
    expect(await text(admin, '#audit')).toContain('account.disable');
    await shot(admin, 'audit');
  });

  it('refuses a form whose CSRF token was removed', async () => {
    await admin.goto(`${base}/domains`);
    await admin.locator('form[action="/domains/create"] input[name=csrf]').evaluate((input) => input.remove());
    await admin.fill('form[action="/domains/create"] input[name=name]', 'forged.test');
    await Promise.all([admin.waitForLoadState('load'), admin.click('form[action="/domains/create"] button')]);
    expect(await text(admin, 'main')).toContain('CSRF token is missing or wrong');
    expect((await server.app.services.domains.list(systemActor)).map((d) => d.name)).not.toContain('forged.test');
  });

  it('refuses a user', async () => {
    const page = await logIn('pat@alpha.test');
    expect(new URL(page.url()).pathname).toBe('/login');
    expect(await text(page, '.flash')).toContain('not an admin');
    await shot(page, 'login-refused');
  });

  it('shows a domain admin only their own domain', async () => {
    const boss = await logIn('boss@beta.test');
    expect(await text(boss, 'header nav')).not.toContain('Screening');
    await boss.goto(`${base}/accounts`);
    const accounts = await text(boss, '#accounts');
    expect(accounts).toContain('sam@beta.test');
    expect(accounts).not.toContain('pat@alpha.test');
    await boss.goto(`${base}/sessions`);
    // pat@alpha.test has three live sessions; none of them shows here.
    expect(await text(boss, 'main')).not.toContain('pat@alpha.test');
    await boss.goto(`${base}/domains`);
    expect(await text(boss, 'main')).not.toContain('alpha.test');
    await shot(boss, 'domain-admin-accounts');
  });

  it('sends an idle dashboard back to the login page when the session times out', async () => {
    const idle = await startTestServer({ DMCI_CONSOLE_IDLE_MS: '2000' }, { databaseUrl: server.databaseUrl });
    try {
      const page = await logIn('root@alpha.test', `http://127.0.0.1:${idle.app.consolePort}`);
      expect(new URL(page.url()).pathname).toBe('/');
      // The live stream does not keep the session alive; its next tick after the timeout ends it.
      await page.waitForURL(/\/login\?why=expired/, { timeout: 20_000 });
      expect(await text(page, '.flash')).toContain('session expired');
    } finally {
      await idle.stop();
    }
  });
});
