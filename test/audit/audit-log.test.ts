import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { auditPruneJob } from '../../server/audit/audit.service.ts';
import { createLogger } from '../../server/log/logger.ts';
import { runCli } from '../helpers/cluster.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 12 item 2: logins and failures, admin actions over the protocol and
 * the CLI (who, what, before and after), grants — each recorded once, where
 * the action passes; and no secret ever lands in the log.
 */
let server: TestServer;
let root: DmciClient;
const SECRETS = { created: 'first secret pass 1', reset: 'second secret pass 2', wrong: 'wrong secret pass 3', changed: 'fourth secret pass 4' };

interface Row {
  actor: string;
  action: string;
  target: string | null;
  address: string | null;
  domain_id: string | null;
  detail: Record<string, unknown>;
}

async function rows(): Promise<Row[]> {
  return (await sql<Row>`select actor, action, target, address, domain_id, detail from audit_log order by id`.execute(server.app.db)).rows;
}

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('root@a.test', DEFAULT_PASSWORD, 'global_admin');
  await server.createAccount('alice@a.test');
  root = await server.connect('root@a.test');
});
afterAll(() => server?.stop());

it('records admin actions over the protocol with who, what, before and after', async () => {
  await root.request('Admin/accountCreate', { email: 'bob@a.test', displayName: 'Bob', password: SECRETS.created });
  await root.request('Admin/accountUpdate', { email: 'bob@a.test', role: 'domain_admin' });
  await root.request('Admin/accountDisable', { email: 'bob@a.test' });
  await root.request('Admin/accountEnable', { email: 'bob@a.test' });
  await root.request('Admin/accountSetPassword', { email: 'bob@a.test', password: SECRETS.reset });
  await root.request('Admin/domainUpdate', { name: 'a.test', crossDomainSharing: true });

  const mine = (await rows()).filter((r) => r.actor === 'root@a.test' && r.action !== 'login.ok');
  expect(mine.map((r) => [r.action, r.target])).toEqual([
    ['account.create', 'bob@a.test'],
    ['account.update', 'bob@a.test'],
    ['account.disable', 'bob@a.test'],
    ['account.enable', 'bob@a.test'],
    ['account.password.set', 'bob@a.test'],
    ['domain.update', 'a.test'],
  ]);
  expect(mine[1]!.detail).toMatchObject({ before: { role: 'user' }, after: { role: 'domain_admin' } });
  expect(mine[2]!.detail).toMatchObject({ before: { enabled: true }, after: { enabled: false } });
  expect(mine[5]!.detail).toEqual({ before: { crossDomainSharing: false }, after: { crossDomainSharing: true } });
  expect(new Set(mine.map((r) => r.domain_id)).size).toBe(1);
});

it('records logins and failed logins with the address, the login tried and the reason', async () => {
  await expect(server.connect('alice@a.test', SECRETS.wrong)).rejects.toThrow();
  await expect(server.connect('nobody@a.test', SECRETS.wrong)).rejects.toThrow();
  const alice = await server.connect('alice@a.test');
  const logins = (await rows()).filter((r) => r.action.startsWith('login.') && r.actor !== 'root@a.test');
  expect(logins.map((r) => [r.action, r.actor, r.address, r.detail])).toEqual([
    ['login.failed', 'alice@a.test', '127.0.0.1', { door: 'dmci', reason: 'bad_credentials' }],
    ['login.failed', 'nobody@a.test', '127.0.0.1', { door: 'dmci', reason: 'bad_credentials' }],
    ['login.ok', 'alice@a.test', '127.0.0.1', { door: 'dmci' }],
  ]);
  await alice.request('Account/changePassword', { currentPassword: DEFAULT_PASSWORD, newPassword: SECRETS.changed });
  expect((await rows()).filter((r) => r.actor === 'alice@a.test').map((r) => r.action).slice(-2)).toEqual(['login.ok', 'account.password.change']);
});

it('records rights and sharing changes with the right before and after', async () => {
  const alice = await server.connect('alice@a.test', SECRETS.changed);
  const calendarId = (await alice.request('Calendar/get', {})).list.find((c) => c.isDefault)!.id;
  await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@a.test': 'read' } } } });
  await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@a.test': 'write' } } } });
  await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'bob@a.test': null } } } });
  const grants = (await rows()).filter((r) => r.action === 'grant.change');
  expect(grants.map((r) => [r.actor, r.target, r.detail.before, r.detail.after])).toEqual([
    ['alice@a.test', 'bob@a.test', null, { right: 'read', delegate: false, privateAccess: false }],
    ['alice@a.test', 'bob@a.test', { right: 'read', delegate: false, privateAccess: false }, { right: 'write', delegate: false, privateAccess: false }],
    ['alice@a.test', 'bob@a.test', { right: 'write', delegate: false, privateAccess: false }, null],
  ]);
  expect(grants[0]!.detail).toMatchObject({ calendarId });
});

it('records CLI actions as the operating-system user, and `dmci audit` lists them filtered by user, as JSON', async () => {
  const cli = await runCli(['user', 'passwd', 'bob@a.test'], server.databaseUrl, { stdin: `${SECRETS.reset}x\n` });
  expect(cli.code, cli.stderr).toBe(0);
  const audit = await runCli(['audit', '--json', '--user', 'bob@a.test', '--since', '1h'], server.databaseUrl);
  expect(audit.code, audit.stderr).toBe(0);
  const entries = JSON.parse(audit.stdout) as Array<{ actor: string; action: string; target: string }>;
  expect(entries[0]).toMatchObject({ action: 'account.password.set', target: 'bob@a.test' });
  expect(entries[0]!.actor).toMatch(/^cli:/);
  expect(entries.every((e) => e.actor === 'bob@a.test' || e.target === 'bob@a.test')).toBe(true);
  expect(entries.map((e) => e.action)).toContain('account.create');

  const text = await runCli(['audit', '--since', '2000-01-01', '--limit', '3'], server.databaseUrl);
  expect(text.code, text.stderr).toBe(0);
  expect(text.stdout.split('\n')[0]).toMatch(/^at\s+actor\s+action/);
  const bad = await runCli(['audit', '--since', 'yesterday', '--json'], server.databaseUrl);
  expect(bad.code).toBe(2);
  expect(JSON.parse(bad.stderr)).toMatchObject({ error: { code: 'USAGE' } });
});

it('never holds a secret: no password, hash or resume token anywhere in the log', async () => {
  const alice = await server.connect('alice@a.test', SECRETS.changed);
  const hashes = (await sql<{ password_hash: string }>`select password_hash from accounts`.execute(server.app.db)).rows.map((r) => r.password_hash);
  const everything = JSON.stringify(await sql`select * from audit_log`.execute(server.app.db).then((r) => r.rows));
  expect(everything.length).toBeGreaterThan(1000);
  for (const secret of [...Object.values(SECRETS), `${SECRETS.reset}x`, DEFAULT_PASSWORD, ...hashes, alice.resumeToken!, root.resumeToken!]) {
    expect(everything).not.toContain(secret);
  }
  expect(everything).not.toContain('$argon2');
});

it('prunes records past the retention', async () => {
  await sql`insert into audit_log (at, actor, action) values (now() - interval '40 days', 'old@a.test', 'login.ok'), (now() - interval '20 days', 'recent@a.test', 'login.ok')`.execute(server.app.db);
  await auditPruneJob({ retentionDays: 30 }).run(server.app.db, createLogger('silent'));
  const actors = (await rows()).map((r) => r.actor);
  expect(actors).not.toContain('old@a.test');
  expect(actors).toContain('recent@a.test');
});

it('drops whatever a caller passes under a key that names a secret, at any depth', async () => {
  const { recordAudit } = await import('../../server/audit/audit.service.ts');
  await recordAudit(server.app.db, { kind: 'system', via: 'test' }, { action: 'account.update', target: 'x@a.test', detail: { password: 'p1', nested: { resumeToken: 't1', passwordHash: 'h1', kept: 'yes' } }, after: { apiSecret: 's1' } });
  const [row] = (await rows()).filter((r) => r.actor === 'test');
  expect(row!.detail).toEqual({ nested: { kept: 'yes' }, after: {} });
});
