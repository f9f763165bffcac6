import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { PushFrame } from '../../protocol/index.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10, the GAL: an admin's edit of a hidden entry reaches readers
 * without its id; a domain admin cannot change the global admin's entry;
 * Admin/directoryGet answers an ordinary user the same whether or not an
 * id exists, and a domain admin the same for another domain's entry as for
 * none.
 */
let server: TestServer;
let root: DmciClient;
let domainAdmin: DmciClient;
let otherAdmin: DmciClient;
let reader: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('root@a.test', DEFAULT_PASSWORD, 'global_admin');
  await server.createAccount('dom@a.test', DEFAULT_PASSWORD, 'domain_admin');
  await server.createAccount('reader@a.test');
  await server.createAccount('boss@b.test', DEFAULT_PASSWORD, 'domain_admin');
  root = await server.connect('root@a.test');
  domainAdmin = await server.connect('dom@a.test');
  reader = await server.connect('reader@a.test');
  otherAdmin = await server.connect('boss@b.test');
});
afterAll(() => server?.stop());

const failure = (call: Promise<unknown>) =>
  call.then(
    () => 'accepted',
    (error: { code?: string; message?: string }) => `${error.code}: ${error.message}`,
  );

async function entryOf(client: DmciClient, email: string) {
  const page = await client.request('Admin/directoryList', { domain: email.split('@')[1]!, limit: 1000 });
  return page.entries.find((e) => e.email === email)!;
}

it('keeps a hidden entry out of readers’ changes and pushes when an admin edits it', async () => {
  const { entry } = await domainAdmin.request('Admin/directoryCreate', { domain: 'a.test', kind: 'person', fields: { displayName: 'Secret Witness', email: 'witness@a.test' } });
  await domainAdmin.request('Admin/directoryHide', { id: entry.id, hidden: true });

  const start = await reader.request('Directory/changes', {});
  let state = start.newState;
  while ((await reader.request('Directory/changes', { sinceState: state })).hasMoreChanges) state = (await reader.request('Directory/changes', { sinceState: state })).newState;
  const pushes: PushFrame[] = [];
  reader.on('push', (frame) => pushes.push(frame));
  await reader.request('Push/subscribe', { scopes: [{ scope: start.scope, state }] });

  await domainAdmin.request('Admin/directoryUpdate', { id: entry.id, fields: { title: 'Protected' } });
  // A visible change after it, so the test knows when the hidden one's push has passed.
  await domainAdmin.request('Admin/directoryCreate', { domain: 'a.test', kind: 'person', fields: { displayName: 'Public Marker', email: 'marker@a.test' } });
  await expect.poll(() => JSON.stringify(pushes), { timeout: 5000 }).toContain('Public Marker');

  expect(JSON.stringify(pushes)).not.toContain(entry.id);
  const changes = await reader.request('Directory/changes', { sinceState: state });
  expect(changes.destroyed).not.toContain(entry.id);
  expect(JSON.stringify(changes)).not.toContain(entry.id);

  // Hiding a visible entry still removes it from replicas.
  const marker = await entryOf(domainAdmin, 'marker@a.test');
  await domainAdmin.request('Admin/directoryHide', { id: marker.id, hidden: true });
  expect((await reader.request('Directory/changes', { sinceState: changes.newState })).destroyed).toEqual([marker.id]);
});

describe("the global admin's entry", () => {
  it('cannot be changed or hidden by a domain admin of its domain, and can by a global admin', async () => {
    const entry = await entryOf(domainAdmin, 'root@a.test');
    expect(await failure(domainAdmin.request('Admin/directoryUpdate', { id: entry.id, fields: { title: 'Demoted' } }))).toMatch(/^FORBIDDEN/);
    expect(await failure(domainAdmin.request('Admin/directoryHide', { id: entry.id, hidden: true }))).toMatch(/^FORBIDDEN/);
    expect((await domainAdmin.request('Admin/directoryGet', { id: entry.id })).entry.title).toBeNull();
    expect((await root.request('Admin/directoryUpdate', { id: entry.id, fields: { title: 'Founder' } })).entry.title).toBe('Founder');
  });
});

describe('Admin/directoryGet', () => {
  it('answers a user the same for an existing id and an unknown one', async () => {
    const entry = await entryOf(root, 'dom@a.test');
    const unknown = '00000000-0000-4000-8000-00000000beef';
    expect(await failure(reader.request('Admin/directoryGet', { id: entry.id }))).toBe(await failure(reader.request('Admin/directoryGet', { id: unknown })));
  });

  it("answers a domain admin the same for another domain's entry and an unknown one", async () => {
    const entry = await entryOf(root, 'dom@a.test');
    const unknown = '00000000-0000-4000-8000-00000000beef';
    expect(await failure(otherAdmin.request('Admin/directoryGet', { id: entry.id }))).toBe(await failure(otherAdmin.request('Admin/directoryGet', { id: unknown })));
    expect(await failure(otherAdmin.request('Admin/directoryList', { domain: 'a.test' }))).toBe(await failure(otherAdmin.request('Admin/directoryList', { domain: 'nowhere.test' })));
  });
});
