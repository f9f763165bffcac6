import { describe, expect, it } from 'vitest';
import { parseAttributeSelection } from '../../server/ldap/ldap-attributes.ts';
import type { GalRow } from '../../server/ldap/ldap-entry.ts';
import { compileIndexFilter, planCandidates } from '../../server/ldap/ldap-index-filter.ts';
import { findEntries, IndexDeadlineError, TESTS_PER_TURN, TURN_MS } from '../../server/ldap/ldap-index-filter-search.ts';
import { indexEntry, Snapshot, wantedAttributes, type IndexedEntry } from '../../server/ldap/ldap-index-snapshot.ts';
import type { FilterNode } from '../../server/ldap/ldap-filter.ts';
import { bytesMatchParts, partsTest, toByteParts } from '../../server/ldap/ldap-index-filter-bytes.ts';

/**
 * The index's filter search on a packed snapshot, without a database: what
 * the end-to-end tests (ldap-index.test.ts, byte-identical to SQL) cannot
 * show — a long walk yields to the event loop and stops at the deadline, and
 * lookups and walks find the same entries.
 */
const when = new Date('2026-11-30T08:00:00Z');
function row(n: number, surname: string): GalRow {
  const id = `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
  return {
    id,
    kind: 'person',
    email: `p${n}@example.com`,
    display_name: `Person ${n}`,
    common_names: null,
    given_name: 'Person',
    surname,
    title: `Title ${n % 7}`,
    department: null,
    company: null,
    office: null,
    business_phone: null,
    mobile_phone: null,
    resource_type: null,
    capacity: null,
    location: null,
    created_at: when,
    updated_at: when,
    photo_type: null,
    manager_id: null,
    manager_email: null,
    aliases: [],
  };
}

const COUNT = TESTS_PER_TURN * 2 + 100;
const entries: IndexedEntry[] = Array.from({ length: COUNT }, (_, n) => indexEntry(row(n, n === COUNT - 1 ? 'Last' : 'Many'), 'example.com'));
const snapshot = await Snapshot.build(entries);
const wanted = wantedAttributes(parseAttributeSelection(['mail']));
const compile = (node: FilterNode) => compileIndexFilter(node)!;
const ids = async (node: FilterNode, limit = 1000, deadline = Infinity) => (await findEntries(snapshot, new Map(), compile(node), undefined, limit, wanted, deadline)).map((e) => e.id);

describe('the index filter search', () => {
  it('a walk over more than TESTS_PER_TURN entries lets other work run, and finds what is at the end', async () => {
    // Only the last entry matches, and nothing narrows the search: every entry is tested.
    const node: FilterNode = { type: 'substrings', attribute: 'sn', any: ['as'] };
    expect(planCandidates(compile(node).candidates, (probe) => snapshot.probeSize(probe))).toBeUndefined();
    let ranMeanwhile = false;
    setImmediate(() => (ranMeanwhile = true));
    expect(await ids(node)).toEqual([entries[COUNT - 1]!.id]);
    expect(ranMeanwhile).toBe(true);
  });

  it('lets other work run after TURN_MS of tests, however few: a costly filter never holds the loop for TESTS_PER_TURN tests', async () => {
    const node: FilterNode = { type: 'substrings', attribute: 'sn', any: ['as'] };
    // A clock that moves TURN_MS + 1 at every read: each read past the first says the turn is over.
    let now = 0;
    const clock = () => (now += TURN_MS + 1);
    let ranMeanwhile = false;
    setImmediate(() => (ranMeanwhile = true));
    const found = await findEntries(snapshot, new Map(), compile(node), undefined, 1000, wanted, Infinity, clock);
    expect(found.map((e) => e.id)).toEqual([entries[COUNT - 1]!.id]);
    expect(ranMeanwhile).toBe(true);
    // Many pauses, not the two TESTS_PER_TURN allows: the clock was read every few dozen tests.
    expect(now / (TURN_MS + 1)).toBeGreaterThan(COUNT / 100);
  });

  it('stops at the deadline instead of walking on', async () => {
    const node: FilterNode = { type: 'not', child: { type: 'equality', attribute: 'sn', value: 'many' } };
    await expect(ids(node, 1000, Date.now() - 1)).rejects.toBeInstanceOf(IndexDeadlineError);
    // A search that finds its entries before the first pause is answered whatever the clock says.
    expect(await ids({ type: 'equality', attribute: 'sn', value: 'many' }, 10, Date.now() - 1)).toHaveLength(10);
  });

  it('starts from key lookups when they are few, walks when they are many, and finds the same entries in id order', async () => {
    const narrow: FilterNode = { type: 'and', children: [{ type: 'equality', attribute: 'mail', value: 'p42@example.com' }, { type: 'present', attribute: 'title' }] };
    const plan = planCandidates(compile(narrow).candidates, (probe) => snapshot.probeSize(probe));
    expect(plan?.total).toBe(1);
    expect(await ids(narrow)).toEqual([entries[42]!.id]);
    // Title 3 is a seventh of the entries: walked, not gathered.
    const wide: FilterNode = { type: 'and', children: [{ type: 'equality', attribute: 'title', value: 'title 3' }, { type: 'substrings', attribute: 'mail', initial: 'p1', any: [] }] };
    expect(planCandidates(compile(wide).candidates, (probe) => snapshot.probeSize(probe))!.total).toBeGreaterThan(COUNT / 16);
    const expected = entries.filter((_, n) => n % 7 === 3 && String(n).startsWith('1')).map((e) => e.id);
    expect(await ids(wide, 5000)).toEqual(expected);
    expect(await ids(wide, 5)).toEqual(expected.slice(0, 5));
  });
});

describe('byte matching of prepared values', () => {
  it('answers as LIKE initial%any%final does, the one-part shortcuts included', () => {
    const like = (value: string, parts: { initial: string; any: string[]; final: string }) =>
      new RegExp(`^${[parts.initial, ...parts.any, parts.final].map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'su').test(value);
    const values = ['', 'a', 'ab', 'aba', 'abab', 'ba', 'xaby', 'václav', 'ελένη', 'a b'];
    const partsList = [
      { initial: 'ab', any: [], final: '' },
      { initial: '', any: [], final: 'ba' },
      { initial: 'ab', any: [], final: 'ba' },
      { initial: '', any: ['b'], final: '' },
      { initial: 'a', any: ['b', 'a'], final: 'b' },
      { initial: 'vá', any: [], final: '' },
      { initial: '', any: ['λέ'], final: 'η' },
      { initial: '', any: [' '], final: '' },
    ];
    for (const parts of partsList) {
      const test = partsTest(toByteParts(parts));
      for (const value of values) {
        const bytes = Buffer.from(`__${value}__`);
        const expected = like(value, parts);
        expect(test(bytes, 2, bytes.length - 2), `${value} ~ ${JSON.stringify(parts)}`).toBe(expected);
        expect(bytesMatchParts(bytes, 2, bytes.length - 2, toByteParts(parts))).toBe(expected);
      }
    }
  });
});
