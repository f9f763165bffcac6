import { afterAll, beforeAll, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { CloseCode } from '../../protocol/index.ts';
import { runCli } from '../helpers/cluster.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 12 item 3: screening lives in PostgreSQL and every node follows it.
 * Two nodes share one database; the poll fallback is set to an hour, so only
 * the `screen` hint sent at commit can carry a change from one to the other.
 */
let a: TestServer;
let b: TestServer;
const env = { DMCI_SCREEN_FAILURES: '3', DMCI_SCREEN_POLL_MS: '3600000' };
const admin = { kind: 'system' as const, via: 'test' };

beforeAll(async () => {
  a = await startTestServer(env);
  b = await startTestServer({ ...env, DMCI_NODE_ID: 'node-b' }, { databaseUrl: a.databaseUrl });
  await a.createAccount('ann@example.com');
});
afterAll(async () => {
  await b?.stop();
  await a?.stop();
});

/** What a node answers a good login from `address`: open, or the HTTP status that refused the upgrade. */
async function answer(node: TestServer, address: string): Promise<'open' | number> {
  const client = new DmciClient({ url: node.url, login: 'ann@example.com', password: DEFAULT_PASSWORD, localAddress: address });
  try {
    await client.connect();
    await client.close();
    return 'open';
  } catch (error) {
    // A block that lands between the upgrade and the hello is answered at the hello: the same refusal.
    if ((error as { closeCode?: number }).closeCode === CloseCode.BLOCKED) return 429;
    const status = /HTTP (\d{3})/.exec(String(error));
    if (!status) throw error;
    return Number(status[1]);
  }
}

/** Waits until the node answers `expected` (a change reaches it through the hint; no deadline is asserted but the test's). */
async function until(node: TestServer, address: string, expected: 'open' | number): Promise<void> {
  for (let last = await answer(node, address); last !== expected; last = await answer(node, address)) await new Promise((r) => setTimeout(r, 50));
}

async function failLogin(node: TestServer, address: string): Promise<number | undefined> {
  const client = new DmciClient({ url: node.url, login: 'ann@example.com', password: 'wrong', localAddress: address });
  return client.connect().then(
    () => undefined,
    (error: { closeCode?: number }) => error.closeCode,
  );
}

async function metric(node: TestServer, line: RegExp): Promise<string | undefined> {
  const text = await (await fetch(`${node.opsUrl}/metrics`)).text();
  return text.split('\n').find((l) => line.test(l));
}

it("a block one node's login guard starts holds on the other; `dmci screen unblock` lifts it on both", { timeout: 120_000 }, async () => {
  const address = '127.0.0.50';
  for (let i = 0; i < 3; i++) expect(await failLogin(a, address)).toBe(CloseCode.AUTH_FAILED);
  expect(await answer(a, address)).toBe(429);
  await until(b, address, 429);

  expect(await metric(a, /^dmci_screen_blocks_total\{source="guard"\}/)).toMatch(/ 1$/);
  expect(await metric(b, /^dmci_screen_blocks_active /)).toMatch(/ 1$/);
  expect(a.logLines().find((l) => l.msg === 'address blocked')).toMatchObject({ address, source: 'guard', reason: expect.stringContaining('3 failed logins'), until: expect.any(String) });

  const list = await runCli(['screen', 'list', '--json'], a.databaseUrl);
  expect(list.code, list.stderr).toBe(0);
  const { blocks } = JSON.parse(list.stdout) as { blocks: Array<Record<string, unknown>> };
  expect(blocks).toEqual([expect.objectContaining({ key: address, source: 'guard', count: 1, by: `node:${a.app.services.nodeId}` })]);

  const unblock = await runCli(['screen', 'unblock', address, '--json'], a.databaseUrl);
  expect(unblock.code, unblock.stderr).toBe(0);
  expect(JSON.parse(unblock.stdout)).toMatchObject({ lifted: [{ key: address }] });
  await until(a, address, 'open');
  await until(b, address, 'open');

  const actions = (await a.app.services.audit.list(admin, { limit: 50 })).filter((e) => e.action.startsWith('screen.')).map((e) => [e.action, e.target, e.actor.split(':')[0]]);
  expect(actions).toEqual([
    ['screen.unblock', address, 'cli'],
    ['screen.block', address, 'node'],
  ]);
  const again = await runCli(['screen', 'unblock', address, '--json'], a.databaseUrl);
  expect(again.code).toBe(1);
  expect(JSON.parse(again.stderr)).toMatchObject({ error: { code: 'NOT_FOUND' } });
});

it("an admin's range block, the trusted list and the deny list reach every node", { timeout: 120_000 }, async () => {
  await b.app.services.screen.block(admin, '127.0.1.0/24', { reason: 'scanning', forMs: 3_600_000 });
  await until(a, '127.0.1.9', 429);
  expect(await answer(a, '127.0.2.9')).toBe('open');
  expect(await metric(b, /^dmci_screen_blocks_total\{source="admin"\}/)).toMatch(/ 1$/);

  const trust = await runCli(['screen', 'trust', '127.0.1.9', '--note', 'the office gateway', '--json'], a.databaseUrl);
  expect(trust.code, trust.stderr).toBe(0);
  expect(JSON.parse(trust.stdout)).toMatchObject({ list: 'trusted', value: '127.0.1.9', note: 'the office gateway' });
  await until(a, '127.0.1.9', 'open');
  await until(b, '127.0.1.9', 'open');
  expect(await answer(b, '127.0.1.10')).toBe(429);

  await a.app.services.screen.addRule(admin, 'ip_deny', '127.0.3.0/24');
  await until(b, '127.0.3.3', 403);
  await a.app.services.screen.removeRule(admin, 'ip_deny', '127.0.3.0/24');
  await until(b, '127.0.3.3', 'open');

  const { rules } = await a.app.services.screen.overview(admin);
  expect(rules).toEqual([expect.objectContaining({ list: 'trusted', value: '127.0.1.9', source: 'database', by: expect.stringMatching(/^cli:/) })]);
});

it('refuses what is not an address, a range or a host name, and screening is for global admins only', async () => {
  const bad = await runCli(['screen', 'block', 'not-an-address', '--json'], a.databaseUrl);
  expect(bad.code).toBe(1);
  expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: 'INVALID_ARGUMENTS' } });
  await expect(a.app.services.screen.addRule(admin, 'host_deny', 'bad host!')).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  await expect(a.app.services.screen.block(admin, '10.0.0.1', { reason: 'x', forMs: 1000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  const domainAdmin = { kind: 'account' as const, accountId: '00000000-0000-0000-0000-000000000000', role: 'domain_admin' as const, domainId: '00000000-0000-0000-0000-000000000000', email: 'da@example.com' };
  await expect(a.app.services.screen.overview(domainAdmin)).rejects.toMatchObject({ code: 'FORBIDDEN' });
});
