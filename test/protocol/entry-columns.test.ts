import { describe, expect, it } from 'vitest';
import {
  decodePushChanges,
  decodeResult,
  decodeServerFrame,
  DirectoryEntryColumns,
  encodedSize,
  encodeFrame,
  FrameDecodeError,
  packChangesPage,
  packEntries,
  unpackEntries,
  type DirectoryEntry,
} from '../../protocol/index.ts';
import { Random } from '../helpers/random.ts';

/**
 * GAL entries by column (protocol/entry-columns.ts): what the server packs
 * comes back, through msgpack, as exactly the entries it packed; malformed
 * columns are refused; and a packed page is never larger than the same
 * entries as maps (the server's page budget counts them as maps).
 */
const names = ['Ann Able', 'José Núñez', 'Václav Dvořák', '王小明', 'Zoë 😀 Emoji', 'x'.repeat(200)];
const departments = ['Sales', 'Engineering', 'Ventes – Île-de-France', null];
const uuid = (random: Random) => [8, 4, 4, 4, 12].map((n) => Array.from({ length: n }, () => '0123456789abcdef'[random.int(16)]).join('')).join('-');

function randomEntry(random: Random): DirectoryEntry {
  const kind = random.pick(['person', 'person', 'group', 'resource'] as const);
  const maybe = <T>(value: T): T | null => (random.bool() ? value : null);
  return {
    id: uuid(random),
    kind,
    displayName: random.pick(names),
    email: maybe(`user${random.int(1000)}@example.com`),
    aliases: Array.from({ length: random.pick([0, 0, 1, 3]) }, (_, i) => `alias${i}.${random.int(1000)}@example.com`),
    givenName: maybe(random.pick(names).split(' ')[0]!),
    surname: maybe('Núñez'),
    title: maybe(random.pick(['Engineer', 'Manager'])),
    department: random.pick(departments),
    company: maybe('Example Corp'),
    office: null,
    businessPhone: maybe(`+1 555 ${random.int(10_000)}`),
    mobilePhone: null,
    managerId: maybe(uuid(random)),
    isAccount: kind === 'person' && random.bool(),
    photo: random.bool() ? { type: random.pick(['image/jpeg', 'image/png'] as const), size: random.int(100_000), etag: uuid(random) } : null,
    memberIds: kind === 'group' ? Array.from({ length: random.int(5) }, () => uuid(random)) : null,
    resourceType: kind === 'resource' ? random.pick(['room', 'equipment'] as const) : null,
    capacity: kind === 'resource' ? random.int(500) : null,
    location: kind === 'resource' ? maybe('Building 2, 3rd floor') : null,
    version: random.int(2 ** 40),
    updatedAt: random.pick(['2026-11-29T10:00:00.000Z', '2026-11-30T01:02:03.456Z']),
  };
}

/** Through the wire: packed, encoded, decoded as a client does, unpacked. */
const roundTrip = (entries: DirectoryEntry[]) => unpackEntries((decodeServerFrame(encodeFrame({ page: packEntries(entries) })) as { page: DirectoryEntryColumns }).page);

describe('GAL entry columns', () => {
  it('give back exactly the entries packed, field by field and in order', () => {
    const random = new Random(13);
    for (const count of [0, 1, 2, 3, 17, 300]) {
      const entries = Array.from({ length: count }, () => randomEntry(random));
      const back = roundTrip(entries);
      expect(back).toEqual(entries);
      // Every field present, in the schema's order, as the server's maps had them.
      for (let i = 0; i < count; i++) expect(Object.keys(back[i]!)).toEqual(Object.keys(entries[i]!));
    }
  });

  it('leave out columns nobody on the page has, and give each entry its own empty aliases list', () => {
    const random = new Random(5);
    const entries = Array.from({ length: 4 }, () => ({ ...randomEntry(random), aliases: [], office: null, isAccount: false }));
    const packed = packEntries(entries);
    expect(Object.keys(packed.columns)).not.toContain('office');
    expect(Object.keys(packed.columns)).not.toContain('aliases');
    expect(Object.keys(packed.columns)).not.toContain('isAccount');
    const back = unpackEntries(packed);
    expect(back).toEqual(entries);
    back[0]!.aliases.push('mine@example.com');
    expect(back[1]!.aliases).toEqual([]);
  });

  it('send a column of few distinct strings as a dictionary, and unique ones as values', () => {
    const random = new Random(7);
    const entries = Array.from({ length: 40 }, () => randomEntry(random));
    const packed = packEntries(entries);
    expect(packed.columns.department).toEqual({ values: expect.any(Array), index: expect.any(Array) });
    const department = packed.columns.department as { values: string[]; index: (number | null)[] };
    expect(new Set(department.values).size).toBe(department.values.length);
    expect(department.index.map((k) => (k === null ? null : department.values[k]))).toEqual(entries.map((e) => e.department));
    expect(Array.isArray(packed.columns.id)).toBe(true);
    // One entry: no dictionary of one.
    expect(packEntries([{ ...entries[0]!, department: 'Sales' }]).columns.department).toEqual(['Sales']);
  });

  it('are never larger on the wire than the same entries as maps, beyond the column headers', () => {
    const random = new Random(21);
    for (let round = 0; round < 30; round++) {
      const entries = Array.from({ length: random.pick([1, 2, 50, 700]) }, () => randomEntry(random));
      const asMaps = entries.reduce((sum, entry) => sum + encodedSize(entry), 0);
      // 22 columns, each at most its name, an array header and a dictionary's two keys and headers.
      expect(encodedSize(packEntries(entries))).toBeLessThanOrEqual(asMaps + 1024);
    }
  });

  it('refuse columns that do not fit together', () => {
    const random = new Random(3);
    const packed = packEntries(Array.from({ length: 10 }, () => randomEntry(random)));
    const withColumns = (columns: Record<string, unknown>) => ({ count: packed.count, columns: { ...packed.columns, ...columns } }) as DirectoryEntryColumns;
    expect(() => unpackEntries(withColumns({ id: (packed.columns.id as string[]).slice(1) }))).toThrow(FrameDecodeError);
    expect(() => unpackEntries(withColumns({ kind: { values: ['person'], index: Array.from({ length: 10 }, () => 1) } }))).toThrow(FrameDecodeError);
    expect(() => unpackEntries(withColumns({ kind: { values: ['person'], index: [0] } }))).toThrow(FrameDecodeError);
    const { displayName: _gone, ...missing } = packed.columns;
    expect(() => unpackEntries({ count: 10, columns: missing })).toThrow(/displayName is missing/);
    expect(() => unpackEntries({ count: -1, columns: {} })).toThrow(FrameDecodeError);
    // A column whose every value is empty may be left out; an empty page needs none.
    expect(unpackEntries({ count: 0, columns: {} })).toEqual([]);
  });

  it('match their schema, and the client library unpacks results and GAL pushes alike', () => {
    const random = new Random(9);
    const created = Array.from({ length: 30 }, () => randomEntry(random));
    const page = { scope: 'gal:d1', oldState: '4', newState: '9', hasMoreChanges: false, created, updated: created.slice(0, 2), destroyed: ['x'] };
    const wire = packChangesPage(page);
    expect(DirectoryEntryColumns.safeParse(wire.created).success).toBe(true);
    expect(DirectoryEntryColumns.safeParse({ count: 1, columns: { nickname: ['x'] } }).success).toBe(false);
    expect(decodeResult('Directory/changes', wire)).toEqual(page);
    expect(decodePushChanges('gal:d1', wire)).toEqual(page);
    // Other scopes' pushes and other methods' results are used as sent.
    expect(decodePushChanges('cal:c1', wire)).toBe(wire);
    const other = { list: [], notFound: [], state: '1', hasMore: false };
    expect(decodeResult('Directory/get', other)).toBe(other);
  });
});
