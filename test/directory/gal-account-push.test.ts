import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DirectoryEntry, PushFrame } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * An account created or renamed by an admin appears in its domain's GAL in
 * the account's own transaction; followers hear of it from the hint sent
 * after commit, not from the backstop poll (set to a minute here).
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({ DMCI_POLL_INTERVAL_MS: '60000' });
  await server.createAccount('admin@example.com', undefined, 'global_admin');
});
afterAll(() => server.stop());

it('pushes a new account and a renamed one to GAL followers at once', async () => {
  const follower = await server.connect('admin@example.com');
  const first = await follower.request('Directory/changes', {});
  const pushes: PushFrame[] = [];
  follower.on('push', (frame) => pushes.push(frame));
  await follower.request('Push/subscribe', { scopes: [{ scope: first.scope, state: first.newState }] });

  const names = () => pushes.flatMap((p) => [...((p.changes as { created?: DirectoryEntry[] })?.created ?? []), ...((p.changes as { updated?: DirectoryEntry[] })?.updated ?? [])]).map((e) => e.displayName);
  await follower.request('Admin/accountCreate', { email: 'newcomer@example.com', displayName: 'New Comer', password: 'a long password' });
  await expect.poll(names, { timeout: 5000 }).toContain('New Comer');
  await follower.request('Admin/accountUpdate', { email: 'newcomer@example.com', displayName: 'Renamed Comer' });
  await expect.poll(names, { timeout: 5000 }).toContain('Renamed Comer');
});
