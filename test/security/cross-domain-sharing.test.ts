import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { runDmci } from '../helpers/run.ts';

/**
 * Issue 7 §9: a calendar is shared across domains only where both domains'
 * admins allow it (off by default), and Calendar/set answers "no such
 * account" and "not allowed" alike — for other domains, disabled and
 * GAL-hidden accounts — so it cannot be used to probe who exists.
 */
let server: TestServer;
let alice: DmciClient;
let root: DmciClient;
let boss: DmciClient;
let calendarId: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('root@a.test', DEFAULT_PASSWORD, 'global_admin');
  await server.createAccount('alice@a.test');
  await server.createAccount('bob@a.test');
  await server.createAccount('quiet@a.test');
  await server.createAccount('gone@a.test');
  await server.createAccount('carol@b.test');
  await server.createAccount('dave@b.test');
  await server.createAccount('boss@b.test', DEFAULT_PASSWORD, 'domain_admin');
  root = await server.connect('root@a.test');
  alice = await server.connect('alice@a.test');
  boss = await server.connect('boss@b.test');
  await root.request('Admin/accountDisable', { email: 'gone@a.test' });
  await root.request('Admin/accountDisable', { email: 'dave@b.test' });
  const quiet = (await root.request('Admin/directoryList', { domain: 'a.test' })).entries.find((e) => e.email === 'quiet@a.test')!;
  await root.request('Admin/directoryHide', { id: quiet.id, hidden: true });
  calendarId = (await alice.request('Calendar/get', {})).list.find((c) => c.isDefault)!.id;
});
afterAll(() => server?.stop());

/** Alice's answer for sharing her calendar with `email`, with the email itself blanked out. */
async function shareAnswer(email: string): Promise<unknown> {
  const result = await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { [email]: 'read' } } } });
  if (result.updated[calendarId]) return 'shared';
  return JSON.parse(JSON.stringify(result.notUpdated[calendarId]).replaceAll(email, '<email>'));
}

it('refuses other domains by default, and answers them, disabled and hidden accounts exactly like unknown ones', async () => {
  const unknown = await shareAnswer('nobody@b.test');
  expect(unknown).toMatchObject({ code: 'NOT_FOUND' });
  for (const email of ['carol@b.test', 'dave@b.test', 'gone@a.test', 'quiet@a.test', 'nobody@a.test', 'nobody@nowhere.test']) expect(await shareAnswer(email), email).toEqual(unknown);
  expect(await shareAnswer('bob@a.test')).toBe('shared');
});

it('shares across domains only once both domains allow it, set by an Admin method and by the CLI', async () => {
  expect((await root.request('Admin/domainList', {})).domains.every((d) => !d.crossDomainSharing)).toBe(true);
  expect((await root.request('Admin/domainUpdate', { name: 'a.test', crossDomainSharing: true })).domain).toMatchObject({ name: 'a.test', crossDomainSharing: true });
  expect(await shareAnswer('carol@b.test')).toMatchObject({ code: 'NOT_FOUND' });

  const cli = await runDmci(['domain', 'set', 'b.test', '--cross-domain-sharing', 'on'], { env: { DATABASE_URL: server.databaseUrl } });
  expect(cli.code, cli.stderr).toBe(0);
  expect(cli.stdout).toContain('domain b.test: cross-domain sharing on');
  expect(await shareAnswer('carol@b.test')).toBe('shared');
  // Disabled accounts stay unshareable wherever they are.
  expect(await shareAnswer('dave@b.test')).toMatchObject({ code: 'NOT_FOUND' });

  // Turning it off refuses new grants; an existing one can still be revoked.
  await root.request('Admin/domainUpdate', { name: 'b.test', crossDomainSharing: false });
  const revoke = await alice.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'carol@b.test': null } } } });
  expect(revoke.updated[calendarId]?.shareWith).not.toHaveProperty('carol@b.test');
  expect(await shareAnswer('carol@b.test')).toMatchObject({ code: 'NOT_FOUND' });
});

it("lets a domain admin change only its own domain, answering another domain like a missing one", async () => {
  expect((await boss.request('Admin/domainUpdate', { name: 'b.test', crossDomainSharing: true })).domain.crossDomainSharing).toBe(true);
  const refusal = (name: string) =>
    boss.request('Admin/domainUpdate', { name, crossDomainSharing: true }).then(
      () => 'accepted',
      (error: { code?: string; message?: string }) => `${error.code} ${error.message}`,
    );
  expect(await refusal('a.test')).toMatch(/^FORBIDDEN/);
  expect(await refusal('a.test')).toBe(await refusal('missing.test'));
  expect(await alice.request('Admin/domainUpdate', { name: 'a.test', crossDomainSharing: false }).catch((e: { code: string }) => e.code)).toBe('FORBIDDEN');
});
