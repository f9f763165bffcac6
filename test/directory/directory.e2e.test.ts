import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { DirectoryEntry, PushFrame } from '../../protocol/index.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** The GAL over the protocol, as a connector and an admin script use it. */
let server: TestServer;
let admin: DmciClient;
let alice: DmciClient;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@gal.test', undefined, 'domain_admin', 'Gal Admin');
  await server.createAccount('alice@gal.test', undefined, 'user', 'Alice Archer');
  await server.createAccount('bob@gal.test', undefined, 'user', 'Bob Baker');
  await server.createAccount('carol@other.test', undefined, 'domain_admin', 'Carol Other');
  admin = await server.connect('admin@gal.test');
  alice = await server.connect('alice@gal.test');
});
afterAll(() => server.stop());

const create = (kind: 'person' | 'group' | 'resource', fields: Record<string, unknown>, memberIds?: string[]) =>
  admin.request('Admin/directoryCreate', { domain: 'gal.test', kind, fields: fields as { displayName: string }, ...(memberIds ? { memberIds } : {}) }).then((r) => r.entry);

async function fullSync(client: DmciClient, maxChanges = 1000): Promise<{ replica: Map<string, DirectoryEntry>; state: string }> {
  const replica = new Map<string, DirectoryEntry>();
  let page = await client.request('Directory/changes', { maxChanges });
  for (;;) {
    for (const entry of [...page.created, ...page.updated]) replica.set(entry.id, entry);
    for (const id of page.destroyed) replica.delete(id);
    if (!page.hasMoreChanges) return { replica, state: page.newState };
    page = await client.request('Directory/changes', { sinceState: page.newState, maxChanges });
  }
}

describe('the GAL over the protocol', () => {
  it('lists accounts of the caller’s domain by themselves, and nothing of other domains', async () => {
    const { replica } = await fullSync(alice);
    const names = [...replica.values()].map((e) => e.displayName);
    expect(names).toEqual(expect.arrayContaining(['Alice Archer', 'Bob Baker', 'Gal Admin']));
    expect(names).not.toContain('Carol Other');
    expect([...replica.values()].find((e) => e.email === 'bob@gal.test')).toMatchObject({ isAccount: true, kind: 'person' });
  });

  it('creates contacts, groups and resources, and finds them by prefix in display-name order', async () => {
    const dana = await create('person', { displayName: 'Dana Diaz', email: 'dana@partner.test', givenName: 'Dana', surname: 'Diaz', department: 'Sales', aliases: ['dd@partner.test'] });
    const room = await create('resource', { displayName: 'Room Danube', email: 'danube@gal.test', resourceType: 'room', capacity: 12, location: 'Floor 2' });
    const list = await create('group', { displayName: 'Sales Team', email: 'sales@gal.test' }, [dana.id]);
    expect(list.memberIds).toEqual([dana.id]);

    const byPrefix = await alice.request('Directory/query', { text: 'dan', calculateTotal: true });
    expect(byPrefix.entries.map((e) => e.displayName)).toEqual(['Dana Diaz', 'Room Danube']);
    expect(byPrefix.total).toBe(2);
    expect((await alice.request('Directory/query', { text: 'dd@' })).entries.map((e) => e.id)).toEqual([dana.id]);
    expect((await alice.request('Directory/query', { text: 'SAL' })).entries.map((e) => e.displayName)).toEqual(['Dana Diaz', 'Sales Team']);
    expect((await alice.request('Directory/query', { text: 'dan', kinds: ['resource'] })).entries).toMatchObject([{ id: room.id, capacity: 12, location: 'Floor 2', resourceType: 'room' }]);
    expect((await alice.request('Directory/query', { text: 'dana di' })).entries.map((e) => e.id)).toEqual([dana.id]);
    // LIKE wildcards in the text match literally.
    expect((await alice.request('Directory/query', { text: '%' })).entries).toEqual([]);
  });

  it('pages a query by cursor and by position alike', async () => {
    const all = await alice.request('Directory/query', { limit: 500 });
    const first = await alice.request('Directory/query', { limit: 3 });
    expect(first.hasMore).toBe(true);
    const second = await alice.request('Directory/query', { limit: 3, after: first.nextCursor! });
    const third = await alice.request('Directory/query', { limit: 3, position: 3 });
    expect(second.entries.map((e) => e.id)).toEqual(all.entries.slice(3, 6).map((e) => e.id));
    expect(third.entries.map((e) => e.id)).toEqual(second.entries.map((e) => e.id));
    await expect(alice.request('Directory/query', { after: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  });

  it('resolves typed names: exact, ambiguous with candidates, not found; expands groups', async () => {
    await create('person', { displayName: 'Ann Able', email: 'ann.able@gal.test' });
    await create('person', { displayName: 'Ann Avery', email: 'ann.avery@gal.test' });
    const { results } = await alice.request('Directory/resolve', {
      names: ['bob@gal.test', 'Alice Archer', 'ann', 'Zelda', 'Dana Diaz <dana@partner.test>', 'Bob B', 'sales team'],
      expandGroups: true,
    });
    expect(results.map((r) => r.status)).toEqual(['exact', 'exact', 'ambiguous', 'notFound', 'exact', 'exact', 'exact']);
    expect(results[0]!.entry!.displayName).toBe('Bob Baker');
    expect(results[2]!.candidates!.map((c) => c.displayName)).toEqual(['Ann Able', 'Ann Avery']);
    expect(results[4]!.entry!.email).toBe('dana@partner.test');
    expect(results[6]!.members!.map((m) => m.displayName)).toEqual(['Dana Diaz']);
  });

  it('expands nested groups once each and refuses a cycle', async () => {
    const [x, y] = [await create('person', { displayName: 'Xavier Nest' }), await create('person', { displayName: 'Yara Nest' })];
    const inner = await create('group', { displayName: 'Nest Inner' }, [x.id, y.id]);
    const outer = await create('group', { displayName: 'Nest Outer' }, [inner.id, x.id]);
    const { results } = await alice.request('Directory/resolve', { names: ['Nest Outer'], expandGroups: true });
    expect(results[0]!.members!.map((m) => m.displayName)).toEqual(['Xavier Nest', 'Yara Nest']);
    expect(results[0]!.truncated).toBe(false);
    const limited = await alice.request('Directory/resolve', { names: ['Nest Outer'], expandGroups: true, maxMembers: 1 });
    expect(limited.results[0]).toMatchObject({ truncated: true, members: [{ displayName: 'Xavier Nest' }] });

    await expect(admin.request('Admin/directorySetMembers', { id: inner.id, memberIds: [outer.id] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(admin.request('Admin/directorySetMembers', { id: inner.id, memberIds: [inner.id] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    expect((await admin.request('Admin/directoryGet', { id: inner.id })).entry.memberIds).toHaveLength(2);
  });

  it('never shows a hidden entry: not in query, get, resolve, changes or group members; admins still see it', async () => {
    const ghost = await create('person', { displayName: 'Ghost Hidden', email: 'ghost@gal.test', hidden: true });
    const shown = await create('person', { displayName: 'Ghost Shown', email: 'shown@gal.test' });
    const group = await create('group', { displayName: 'Ghost Group' }, [ghost.id, shown.id]);
    expect((await alice.request('Directory/query', { text: 'ghost' })).entries.map((e) => e.displayName)).toEqual(['Ghost Group', 'Ghost Shown']);
    expect(await alice.request('Directory/get', { ids: [ghost.id] })).toMatchObject({ list: [], notFound: [ghost.id] });
    expect((await alice.request('Directory/resolve', { names: ['ghost@gal.test'] })).results[0]!.status).toBe('notFound');
    expect((await alice.request('Directory/get', { ids: [group.id] })).list[0]!.memberIds).toEqual([shown.id]);
    const { replica } = await fullSync(alice);
    expect(replica.has(ghost.id)).toBe(false);
    expect((await admin.request('Admin/directoryGet', { id: ghost.id })).entry).toMatchObject({ hidden: true, displayName: 'Ghost Hidden' });
    expect((await admin.request('Admin/directoryGet', { id: group.id })).entry.memberIds).toHaveLength(2);

    // Hiding a visible entry reports it destroyed to a follower, and its group changes with it.
    const { state } = await fullSync(alice);
    await admin.request('Admin/directoryHide', { id: shown.id });
    const delta = await alice.request('Directory/changes', { sinceState: state });
    expect(delta.destroyed).toEqual([shown.id]);
    expect(delta.updated.find((e) => e.id === group.id)!.memberIds).toEqual([]);
  });

  it('hides a disabled account and shows it again when enabled (as Exchange does)', async () => {
    await server.createAccount('erin@gal.test', undefined, 'user', 'Erin Early');
    expect((await alice.request('Directory/resolve', { names: ['erin'] })).results[0]!.status).toBe('exact');
    await server.app.services.accounts.setEnabled(systemActor, 'erin@gal.test', false);
    expect((await alice.request('Directory/resolve', { names: ['erin'] })).results[0]!.status).toBe('notFound');
    await server.app.services.accounts.setEnabled(systemActor, 'erin@gal.test', true);
    expect((await alice.request('Directory/resolve', { names: ['erin'] })).results[0]!.entry!.email).toBe('erin@gal.test');
    await server.app.services.accounts.update(systemActor, 'erin@gal.test', { displayName: 'Erin Renamed' });
    expect((await alice.request('Directory/resolve', { names: ['erin@gal.test'] })).results[0]!.entry!.displayName).toBe('Erin Renamed');
  });

  it('updates conditionally, clears with null, refuses what an account owns, and deletes with a tombstone', async () => {
    const { state } = await fullSync(alice);
    const frank = await create('person', { displayName: 'Frank Fox', email: 'frank@partner.test', title: 'Buyer' });
    const updated = await admin.request('Admin/directoryUpdate', { id: frank.id, ifVersion: frank.version, fields: { title: null, mobilePhone: '+1 555 0100' } });
    expect(updated.entry).toMatchObject({ title: null, mobilePhone: '+1 555 0100' });
    await expect(admin.request('Admin/directoryUpdate', { id: frank.id, ifVersion: frank.version, fields: { title: 'x' } })).rejects.toMatchObject({ code: 'VERSION_MISMATCH' });
    const bob = (await alice.request('Directory/resolve', { names: ['bob@gal.test'] })).results[0]!.entry!;
    await expect(admin.request('Admin/directoryUpdate', { id: bob.id, fields: { displayName: 'Robert' } })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(admin.request('Admin/directoryDelete', { id: bob.id })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await admin.request('Admin/directoryUpdate', { id: bob.id, fields: { title: 'Baker' } })).entry.title).toBe('Baker');
    await expect(create('person', { displayName: 'Dup', email: 'frank@partner.test' })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await expect(create('person', { displayName: 'Dup', aliases: ['bob@gal.test'] })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });

    const middle = await alice.request('Directory/changes', { sinceState: state });
    expect(middle.created.map((e) => e.id)).toContain(frank.id);
    expect(middle.updated.map((e) => e.id)).toContain(bob.id);
    await admin.request('Admin/directoryDelete', { id: frank.id });
    const after = await alice.request('Directory/changes', { sinceState: middle.newState });
    expect(after).toMatchObject({ oldState: middle.newState, destroyed: [frank.id], created: [], updated: [] });
    // The address is free again.
    await create('person', { displayName: 'Frank Again', email: 'frank@partner.test' });
  });

  it('pushes changes to followers in the shape of a Directory/changes page', async () => {
    const { state } = await fullSync(alice);
    const page = await alice.request('Directory/changes', { sinceState: state });
    await alice.request('Push/subscribe', { scopes: [{ scope: page.scope, state }] });
    const pushed = new Promise<PushFrame>((resolve) => alice.once('push', resolve));
    const gina = await create('person', { displayName: 'Gina Push' });
    const frame = await pushed;
    expect(frame).toMatchObject({ scope: page.scope, oldState: state });
    expect(frame.changes).toMatchObject({ oldState: state, newState: frame.newState, hasMoreChanges: false, created: [{ id: gina.id }], destroyed: [] });
  });

  it('sends a resync mark instead of a delta too large to push (one import batch of 501 entries)', async () => {
    const reader = await server.connect('bob@gal.test');
    const { state } = await fullSync(reader);
    const { scope } = await reader.request('Directory/changes', { sinceState: state });
    await reader.request('Push/subscribe', { scopes: [{ scope, state }] });
    const pushed = new Promise<PushFrame>((resolve) => reader.once('push', resolve));
    const rows = Array.from({ length: 501 }, (_, i) => `bulkpush${i}@gal.test,Bulk Push ${i}`);
    const report = await importDirectory(server.app.db, `email,displayName\n${rows.join('\n')}\n`, {
      format: 'csv',
      publish: (s, modseq) => server.app.bus.publish({ kind: 'scope', scope: s, modseq }),
    });
    expect(report.created).toBe(501);
    const frame = await pushed;
    expect(frame).toMatchObject({ scope, resync: true });
    expect(frame.changes).toBeUndefined();
    // The client catches up with /changes from its own state, in pages.
    const page = await reader.request('Directory/changes', { sinceState: state, maxChanges: 300 });
    expect(page.hasMoreChanges).toBe(true);
    expect(page.newState).toContain('~a');
    await reader.close();
  });

  it('makes a retried create idempotent with ifNotExists', async () => {
    const args = { domain: 'gal.test', kind: 'person' as const, fields: { displayName: 'Retry Contact', sourceKey: 'hr-4711' }, ifNotExists: true };
    const first = await admin.request('Admin/directoryCreate', args);
    const second = await admin.request('Admin/directoryCreate', args);
    expect([first.created, second.created]).toEqual([true, false]);
    expect(second.entry.id).toBe(first.entry.id);
    await expect(admin.request('Admin/directoryCreate', { ...args, ifNotExists: false })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('keeps plain users out of Admin/* and domain admins out of other domains', async () => {
    await expect(alice.request('Admin/directoryCreate', { domain: 'gal.test', kind: 'person', fields: { displayName: 'Nope' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const carol = await server.connect('carol@other.test');
    await expect(carol.request('Admin/directoryCreate', { domain: 'gal.test', kind: 'person', fields: { displayName: 'Nope' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    const bob = (await alice.request('Directory/resolve', { names: ['bob@gal.test'] })).results[0]!.entry!;
    await expect(carol.request('Admin/directoryGet', { id: bob.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(carol.request('Admin/directoryHide', { id: bob.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await carol.request('Directory/get', { ids: [bob.id] })).toMatchObject({ notFound: [bob.id] });
    const subscribe = await carol.request('Push/subscribe', { scopes: [{ scope: (await alice.request('Directory/changes', { maxChanges: 1 })).scope }] });
    expect(Object.values(subscribe.notSubscribed)[0]).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('stores a photo (bin or base64) up to the cap, and refuses a larger one or a non-image', async () => {
    const jpeg = new Uint8Array(2000).fill(7);
    jpeg.set([0xff, 0xd8, 0xff]);
    const withPhoto = await create('person', { displayName: 'Pia Photo', photo: jpeg });
    expect(withPhoto.photo).toMatchObject({ type: 'image/jpeg', size: 2000 });
    const photos = await alice.request('Directory/getPhotos', { ids: [withPhoto.id] });
    expect(Buffer.from(photos.photos[0]!.data).equals(Buffer.from(jpeg))).toBe(true);
    const viaBase64 = await create('person', { displayName: 'Pia Base64', photo: Buffer.from(jpeg).toString('base64') });
    expect(viaBase64.photo!.etag).toBe(withPhoto.photo!.etag);
    const big = new Uint8Array(100 * 1024 + 1);
    big.set([0xff, 0xd8, 0xff]);
    await expect(create('person', { displayName: 'Too Big', photo: big })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await expect(create('person', { displayName: 'Not Image', photo: new Uint8Array(10) })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  });

  it('answers CANNOT_CALCULATE_CHANGES and INVALID_STATE for states it cannot follow', async () => {
    await expect(alice.request('Directory/changes', { sinceState: '99999999' })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
    await expect(alice.request('Directory/changes', { sinceState: 'abc' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    // The GAL's earlier partial-state format: a resync, not a misread.
    await expect(alice.request('Directory/changes', { sinceState: 'i1.0b6f3c1e-7d2a-4c1b-9e8f-1a2b3c4d5e6f' })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
  });
});
