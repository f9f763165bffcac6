import { describe, expect, it } from 'vitest';
import { parseAttributeSelection } from '../../server/ldap/ldap-attributes.ts';
import type { GalRow } from '../../server/ldap/ldap-entry.ts';
import { compileIndexFilter, planCandidates, TRUE } from '../../server/ldap/ldap-index-filter.ts';
import { findEntries, IndexDeadlineError, TESTS_PER_TURN, TURN_MS } from '../../server/ldap/ldap-index-filter-search.ts';
import { ChangedEntryView, indexEntry, OrdinalSet, Snapshot, wantedAttributes, type IndexedEntry } from '../../server/ldap/ldap-index-snapshot.ts';
import type { FilterNode } from '../../server/ldap/ldap-filter.ts';
import { bytesMatchParts, compareBytes, compareCodePoints, partsTest, toByteParts } from '../../server/ldap/ldap-index-filter-bytes.ts';

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
    const node: FilterNode = { type: 'not', child: { type: 'equality', attribute: 'sn', value: 'many' } };
    expect(planCandidates(compile(node).candidates, (probe) => snapshot.probeSize(probe))).toBeUndefined();
    let ranMeanwhile = false;
    setImmediate(() => (ranMeanwhile = true));
    expect(await ids(node)).toEqual([entries[COUNT - 1]!.id]);
    expect(ranMeanwhile).toBe(true);
  });

  it('lets other work run after TURN_MS of tests, however few: a costly filter never holds the loop for TESTS_PER_TURN tests', async () => {
    const node: FilterNode = { type: 'not', child: { type: 'equality', attribute: 'sn', value: 'many' } };
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

describe('substrings without an initial part', () => {
  it('start from the keys holding their longest part, found by one scan, not from a walk of every entry', async () => {
    // Only the last entry's surname holds "as": one key, one candidate.
    const rare: FilterNode = { type: 'substrings', attribute: 'sn', any: ['as'] };
    expect(planCandidates(compile(rare).candidates, (probe) => snapshot.probeSize(probe))!.total).toBe(1);
    expect(await ids(rare)).toEqual([entries[COUNT - 1]!.id]);
    // A final part is a key holding it too; the test still decides (here: at the end).
    expect(await ids({ type: 'substrings', attribute: 'sn', any: [], final: 'st' })).toEqual([entries[COUNT - 1]!.id]);
    expect(await ids({ type: 'substrings', attribute: 'sn', any: [], final: 'as' })).toEqual([]);
    // "234@" ends the local part of p234@, p1234@ and p11234@ only.
    const expected = entries.filter((_, n) => `p${n}@`.includes('234@')).map((e) => e.id);
    expect(await ids({ type: 'substrings', attribute: 'mail', any: ['234@'] })).toEqual(expected);
    // Many matches: more than a sixteenth of the entries, so the entries are walked (the first ones match at once).
    const common: FilterNode = { type: 'substrings', attribute: 'sn', any: ['an'] };
    expect(planCandidates(compile(common).candidates, (probe) => snapshot.probeSize(probe))!.total).toBeGreaterThan(COUNT / 16);
    expect(await ids(common, 3)).toEqual(entries.slice(0, 3).map((e) => e.id));
  });

  it('never match across two keys of the packed run', async () => {
    // Keys "ab" and "cd" lie side by side: "bc" is in the packed bytes but in neither value.
    const packed = await Snapshot.build([
      indexEntry({ ...row(1, 'ab'), title: null }, 'example.com'),
      indexEntry({ ...row(2, 'cd'), title: null }, 'example.com'),
    ]);
    const probe = { attr: 'sn' as const, value: 'bc', prefix: false, contains: true };
    expect(packed.probeKeys(probe, Infinity).size).toBe(0);
    expect(packed.probeKeys({ ...probe, value: 'b' }, Infinity).size).toBe(1);
    expect(packed.probeKeys({ ...probe, value: 'd' }, Infinity).size).toBe(1);
    // A needle that straddles every boundary ("ab|ab") costs a search per key: past a few, the caller walks instead.
    const repeated = await Snapshot.build(Array.from({ length: 200 }, (_, n) => indexEntry({ ...row(n, 'ab'), title: null }, 'example.com')));
    expect(repeated.probeKeys({ attr: 'sn', value: 'ba', prefix: false, contains: true }, 8).size).toBe(Infinity);
    expect(repeated.probeKeys({ attr: 'sn', value: 'ba', prefix: false, contains: true }, Infinity).size).toBe(0);
    // Past `most` keys, none are listed: the caller walks instead.
    expect(packed.probeKeys({ attr: 'mail', value: '@example.com', prefix: false, contains: true }, 1).size).toBe(Infinity);
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

describe('key order and lookups', () => {
  // Characters where UTF-16 code unit order and code point (UTF-8 byte) order disagree, and their neighbours:
  // U+FA0E (a CJK ideograph string preparation keeps) against U+1F600 and U+20000; some that preparation maps or refuses.
  const alphabet = ['a', 'z', 'é', 'Ω', '中', '\uFA0E', '\uFF41', '\uFFFD', '\u{1F600}', '\u{20000}', '\u{10FFFF}'];
  const randomString = (random: () => number) =>
    Array.from({ length: Math.floor(random() * 4) }, () => alphabet[Math.floor(random() * alphabet.length)]!).join('');
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);

  it('compares strings by code point exactly as their UTF-8 bytes compare', () => {
    for (let k = 0; k < 3000; k++) {
      const a = randomString(random);
      const b = randomString(random);
      const bytes = Buffer.from(a);
      expect(Math.sign(compareCodePoints(a, b)), `${a} vs ${b}`).toBe(Math.sign(compareBytes(bytes, 0, bytes.length, Buffer.from(b))));
      expect(Math.sign(compareCodePoints(a, b))).toBe(Math.sign(Buffer.compare(bytes, Buffer.from(b))));
    }
  });

  it('finds by equality and prefix every key holding characters above U+FFFF and in U+E000..FFFF', async () => {
    const surnames = Array.from({ length: 400 }, () => `x${randomString(random)}`);
    const held = surnames.map((surname, n) => indexEntry(row(n, surname), 'example.com'));
    const packed = await Snapshot.build(held);
    const found = async (node: FilterNode) =>
      (await findEntries(packed, new Map(), compileIndexFilter(node)!, undefined, 1000, wanted, Infinity)).map((e) => e.id).sort();
    // The lookups must find what testing every entry finds (the test compares prepared values' bytes, order aside).
    const tested = (node: FilterNode) => {
      const filter = compileIndexFilter(node)!;
      return held.filter((entry) => filter.test(new ChangedEntryView(entry)) === TRUE).map((e) => e.id).sort();
    };
    let nonEmpty = 0;
    for (const probe of ['x', 'x\u{1F600}', 'x\uFA0E', 'x\uFF41', 'x\u{20000}', 'x中', 'xé', ...surnames.slice(0, 40)]) {
      for (const node of [{ type: 'substrings', attribute: 'sn', initial: probe, any: [] }, { type: 'equality', attribute: 'sn', value: probe }] as FilterNode[]) {
        const expected = tested(node);
        if (expected.length > 0) nonEmpty++;
        expect(await found(node), JSON.stringify(node)).toEqual(expected);
      }
    }
    expect(nonEmpty).toBeGreaterThan(40);
  });

  it('a bitmap of ordinals reads back ascending from any point', () => {
    const set = new OrdinalSet(200);
    const members = [0, 31, 32, 63, 64, 100, 199];
    for (const n of [...members].reverse()) set.add(n);
    const read = (from: number) => {
      const out: number[] = [];
      for (let n = set.next(from); n >= 0; n = set.next(n + 1)) out.push(n);
      return out;
    };
    expect(read(0)).toEqual(members);
    expect(read(32)).toEqual(members.slice(2));
    expect(read(65)).toEqual([100, 199]);
    expect(read(200)).toEqual([]);
    expect(new OrdinalSet(5).next(0)).toBe(-1);
  });

  it('marks exact only the filters whose lookups are their whole condition', () => {
    const prefix: FilterNode = { type: 'substrings', attribute: 'cn', initial: 'ab', any: [] };
    const equality: FilterNode = { type: 'equality', attribute: 'mail', value: 'p1@example.com' };
    expect(compile({ type: 'or', children: [prefix, equality] }).exact).toBe(true);
    expect(compile({ type: 'substrings', attribute: 'cn', initial: 'ab', any: ['c'] }).exact).toBeFalsy();
    expect(compile({ type: 'substrings', attribute: 'cn', initial: 'ab', any: [], final: 'z' }).exact).toBeFalsy();
    expect(compile({ type: 'and', children: [prefix, equality] }).exact).toBeFalsy();
    expect(compile({ type: 'or', children: [prefix, { type: 'present', attribute: 'title' }] }).exact).toBeFalsy();
  });
});
