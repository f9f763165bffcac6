import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DirectoryEntry, encodeFrame, type DirectoryChangesWire } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { Random } from '../helpers/random.ts';

/**
 * A GAL full sync over a real socket, pages travelling by column
 * (protocol/entry-columns.ts): the replica the client library builds is,
 * entry by entry, what Directory/get answers for the same ids (the one
 * mapper, as maps); every page size gives the same replica; hidden entries
 * and hidden managers or members never reach the wire.
 */
let server: TestServer;
let admin: DmciClient;
let reader: DmciClient;
const hidden: { id: string; name: string }[] = [];

const NAMES = ['José Núñez', 'Václav Dvořák', 'Zoë Ångström', '王小明', 'Ana 😀 Emoji', 'Plain Person'];
const DEPARTMENTS = ['Sales', 'Ventes – Île-de-France', 'Engineering', undefined];

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@wire.test', undefined, 'domain_admin', 'Wire Admin');
  await server.createAccount('reader@wire.test', undefined, 'user', 'Reader Ünal');
  admin = await server.connect('admin@wire.test');
  reader = await server.connect('reader@wire.test');
  const create = async (kind: 'person' | 'group' | 'resource', fields: Record<string, unknown>, memberIds?: string[]) =>
    (await admin.request('Admin/directoryCreate', { domain: 'wire.test', kind, fields: fields as { displayName: string }, ...(memberIds ? { memberIds } : {}) })).entry;
  const random = new Random(42);
  const jpeg = new Uint8Array(300).fill(1);
  jpeg.set([0xff, 0xd8, 0xff]);
  const png = new Uint8Array(200).fill(2);
  png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const people: string[] = [];
  for (let n = 0; n < 40; n++) {
    const name = `${random.pick(NAMES)} ${n}`;
    const department = random.pick(DEPARTMENTS);
    const entry = await create('person', {
      displayName: name,
      email: `p${n}@wire.test`,
      aliases: Array.from({ length: random.pick([0, 0, 1, 3]) }, (_, k) => `p${n}.alias${k}@wire.test`),
      ...(random.bool() ? { givenName: name.split(' ')[0], surname: name.split(' ')[1] } : {}),
      ...(department ? { department, title: random.pick(['Engineer', 'Directeur général']) } : {}),
      ...(random.bool() ? { company: 'Wire Örg', office: 'Zürich' } : {}),
      ...(random.int(4) === 0 ? { businessPhone: `+41 44 ${n}`, mobilePhone: `+41 79 ${n}` } : {}),
      ...(random.int(3) === 0 ? { photo: random.bool() ? jpeg : png } : {}),
      ...(people.length > 0 && random.bool() ? { managerId: random.pick(people) } : {}),
    });
    people.push(entry.id);
  }
  const ghost = await create('person', { displayName: 'Ghost Manager', email: 'ghost@wire.test', hidden: true, department: 'Secret Ops' });
  hidden.push({ id: ghost.id, name: 'Ghost Manager' });
  await create('person', { displayName: 'Managed By Ghost', managerId: ghost.id });
  await create('group', { displayName: 'Everyone Ærø', email: 'all@wire.test' }, [...people.slice(0, 25), ghost.id]);
  await create('group', { displayName: 'Empty Group' });
  const secret = await create('group', { displayName: 'Hidden Group Secret', hidden: true }, people.slice(0, 3));
  hidden.push({ id: secret.id, name: 'Hidden Group Secret' });
  await create('resource', { displayName: 'Room Ödön', email: 'room@wire.test', resourceType: 'room', capacity: 12, location: 'Floor 2' });
  await create('resource', { displayName: 'Beamer', resourceType: 'equipment' });
}, 120_000);
afterAll(() => server.stop());

/** A full sync as a connector does it: pages until hasMoreChanges is false. Also returns each page as it travelled. */
async function fullSync(maxChanges: number): Promise<{ replica: Map<string, DirectoryEntry>; wire: DirectoryChangesWire[] }> {
  const replica = new Map<string, DirectoryEntry>();
  const wire: DirectoryChangesWire[] = [];
  let state: string | undefined;
  for (;;) {
    const args = { maxChanges, ...(state !== undefined ? { sinceState: state } : {}) };
    wire.push((await reader.call('Directory/changes', args)) as DirectoryChangesWire);
    const page = await reader.request('Directory/changes', args);
    for (const entry of [...page.created, ...page.updated]) replica.set(entry.id, entry);
    for (const id of page.destroyed) replica.delete(id);
    state = page.newState;
    if (!page.hasMoreChanges) return { replica, wire };
  }
}

/** The same entries as maps, read by id (Directory/get, at most 500 a call, again while hasMore). */
async function asMaps(ids: string[]): Promise<Map<string, DirectoryEntry>> {
  const out = new Map<string, DirectoryEntry>();
  let left = ids;
  while (left.length > 0) {
    const answer = await reader.request('Directory/get', { ids: left.slice(0, 500) });
    for (const entry of answer.list) out.set(entry.id, entry);
    left = left.filter((id) => !out.has(id) && !answer.notFound.includes(id));
  }
  return out;
}

describe('the GAL full sync by column', () => {
  it('builds, entry by entry, the entries Directory/get shows as maps', async () => {
    const { replica } = await fullSync(5000);
    expect(replica.size).toBe(40 + 1 + 2 + 2 + 2); // people, the one managed by a hidden manager, visible groups, resources, the two accounts
    const maps = await asMaps([...replica.keys()]);
    for (const [id, entry] of replica) {
      expect(DirectoryEntry.safeParse(entry).success, id).toBe(true);
      expect(entry, id).toEqual(maps.get(id));
      expect(Object.keys(entry)).toEqual(Object.keys(maps.get(id)!));
    }
    // What the generator made is there: photos, aliases, non-ASCII, members.
    const entries = [...replica.values()];
    expect(entries.some((e) => e.photo?.type === 'image/png') && entries.some((e) => e.photo?.type === 'image/jpeg')).toBe(true);
    expect(entries.some((e) => e.aliases.length === 3)).toBe(true);
    expect(entries.find((e) => e.displayName === 'Room Ödön')).toMatchObject({ resourceType: 'room', capacity: 12, location: 'Floor 2' });
    expect(entries.find((e) => e.displayName === 'Empty Group')).toMatchObject({ memberIds: [], managerId: null, aliases: [] });
  });

  it('gives the same replica for every page size', async () => {
    const { replica } = await fullSync(5000);
    for (const maxChanges of [1, 2, 7, replica.size - 1, replica.size]) {
      const paged = await fullSync(maxChanges);
      expect(paged.wire.length, `pages of ${maxChanges}`).toBeGreaterThanOrEqual(Math.ceil(replica.size / maxChanges));
      expect(paged.replica, `pages of ${maxChanges}`).toEqual(replica);
    }
  });

  it('never puts hidden entries, hidden managers or hidden members on the wire', async () => {
    const { replica, wire } = await fullSync(10);
    const bytes = Buffer.concat(wire.map((page) => encodeFrame(page)));
    for (const { id, name } of hidden) {
      expect(replica.has(id)).toBe(false);
      expect(bytes.includes(id), name).toBe(false);
      expect(bytes.includes(name), name).toBe(false);
    }
    expect(bytes.includes('Secret Ops')).toBe(false);
    expect([...replica.values()].find((e) => e.displayName === 'Managed By Ghost')!.managerId).toBeNull();
    expect([...replica.values()].find((e) => e.displayName === 'Everyone Ærø')!.memberIds).toHaveLength(25);
    // Only the reader's fields travel: no admin columns.
    const fields = Object.keys(DirectoryEntry.shape);
    for (const page of wire) for (const field of Object.keys(page.created.columns)) expect(fields).toContain(field);
  });

  it('pushes a change in the same form, unpacked by the client library', async () => {
    const { wire } = await fullSync(5000);
    const state = wire.at(-1)!.newState;
    await reader.request('Push/subscribe', { scopes: [{ scope: wire[0]!.scope, state }] });
    const pushed = new Promise<unknown>((resolve) => reader.once('push', (frame) => resolve(frame.changes)));
    const entry = (await admin.request('Admin/directoryCreate', { domain: 'wire.test', kind: 'person', fields: { displayName: 'Late Ünicode', department: 'Sales' } })).entry;
    const changes = (await pushed) as { created: DirectoryEntry[] };
    expect(changes.created).toEqual([...(await asMaps([entry.id])).values()]);
    expect(changes.created).toHaveLength(1);
  });
});
