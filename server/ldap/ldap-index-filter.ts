import { approxKeys } from '../directory/search/name-fold.ts';
import { MATCH_FIELDS, type MatchKey } from '../directory/search/search-terms.ts';
import { prepareValue, substringsParts } from '../directory/search/string-prep.ts';
import { isUuid } from './ldap-dn.ts';
import { parseGeneralizedTime } from './ldap-entry.ts';
import type { FilterNode } from './ldap-filter.ts';
import { bytesEqual, bytesMatchParts, partsTest, toByteParts } from './ldap-index-filter-bytes.ts';
import { matchesEntry, syntheticEntry } from './ldap-match.ts';
import { ATTRIBUTES, hasRule, KIND_CLASSES, kindsWhere, lookupAttribute, type AttributeDef } from './ldap-schema.ts';
import type { DirectoryKind } from '../directory/directory.table.ts';

/**
 * A search filter compiled for the door's in-memory index (ldap-index.ts):
 * a test of one held entry with LDAP's three values, and the key lookups
 * that find the entries it can be TRUE for.
 *
 * The test answers exactly what ldap-filter-sql.ts's translation answers
 * for the same entry, leaf by leaf (same schema, same RFC 4518 preparation,
 * same `=` and LIKE semantics on the same prepared values, same Undefined):
 * RFC 4511 §4.5.1.7's Undefined for an unknown attribute, an assertion its
 * schema has no rule for, or a value that cannot be prepared; NOT Undefined
 * is Undefined; a known attribute the entry lacks is FALSE. A filter naming
 * something the index does not hold (members, a manager's DN, photos,
 * phonetic approx keys) does not compile: SQL answers it.
 */
export const FALSE = 0;
export const TRUE = 1;
export const UNDEFINED = 2;
export type Truth = typeof FALSE | typeof TRUE | typeof UNDEFINED;

/** The kinds of entry, by the number the index holds for each. */
export const KINDS = Object.keys(KIND_CLASSES) as DirectoryKind[];

/** What a filter may ask of one held entry (a snapshot's packed entry, or a changed one held beside it). */
export interface EntryView {
  /** Its kind, as an index into KINDS. */
  kind(): number;
  /** Whether it shows the attribute ATTRIBUTES[def] (has a value of it). */
  has(def: number): boolean;
  /** roomCapacity (meaningful when it has one). */
  capacity(): number;
  /** createTimestamp / modifyTimestamp in whole seconds since the epoch. */
  seconds(column: 'created_at' | 'updated_at'): number;
  id(): string;
  /** Whether some prepared value of `attr` (UTF-8 at buf[start, end)) passes the test. */
  someValue(attr: MatchKey, test: (buf: Uint8Array, start: number, end: number) => boolean): boolean;
}

/**
 * One key lookup: the entries having a prepared value of `attr` equal to
 * `value`, starting with it when `prefix`, or holding it anywhere when
 * `contains` (a scan of the attribute's packed keys, not a range).
 */
export interface IndexProbe {
  attr: MatchKey;
  value: string;
  prefix: boolean;
  contains?: boolean;
}

/**
 * Where the entries a filter can be TRUE for are: `all` (any entry may be),
 * one probe's entries, or the intersection / union of parts (`or` with no
 * parts: none). A superset is fine; every candidate is tested.
 */
export type Candidates = { kind: 'all' } | { kind: 'probe'; probe: IndexProbe } | { kind: 'and' | 'or'; parts: Candidates[] };

export interface IndexFilter {
  test: (entry: EntryView) => Truth;
  candidates: Candidates;
  /**
   * The test is TRUE for exactly the entries its candidates' lookups find
   * (an equality or a prefix leaf, an OR of such): a candidate needs no test.
   */
  exact?: boolean;
}

const ALL: Candidates = { kind: 'all' };
const NONE: Candidates = { kind: 'or', parts: [] };
const DEF_INDEX = new Map(ATTRIBUTES.map((def, n) => [def, n]));

/** The filter as the index evaluates it; undefined when it names something the index does not hold. */
export function compileIndexFilter(node: FilterNode): IndexFilter | undefined {
  switch (node.type) {
    case 'and':
    case 'or': {
      const children: IndexFilter[] = [];
      for (const child of node.children) {
        const compiled = compileIndexFilter(child);
        if (!compiled) return undefined;
        children.push(compiled);
      }
      return combine(node.type, children);
    }
    case 'not': {
      const inner = compileIndexFilter(node.child);
      if (!inner) return undefined;
      const test = inner.test;
      return { test: (entry) => negate(test(entry)), candidates: ALL };
    }
    case 'undefined':
      return constant(UNDEFINED);
    default: {
      const def = lookupAttribute(node.attribute);
      if (!def || !hasRule(def, node.type)) return constant(UNDEFINED);
      return leaf(node, def);
    }
  }
}

/**
 * The entry lookups to start from: a list of probes whose union holds every
 * entry the filter can be TRUE for, with their total key count (`size` tells
 * how many keys a probe finds), or undefined when only a walk of every entry
 * will do. An AND starts from its smallest part.
 */
export function planCandidates(candidates: Candidates, size: (probe: IndexProbe) => number): { probes: IndexProbe[]; total: number } | undefined {
  switch (candidates.kind) {
    case 'all':
      return undefined;
    case 'probe':
      return { probes: [candidates.probe], total: size(candidates.probe) };
    case 'and': {
      let best: { probes: IndexProbe[]; total: number } | undefined;
      for (const part of candidates.parts) {
        const plan = planCandidates(part, size);
        if (plan && (!best || plan.total < best.total)) best = plan;
      }
      return best;
    }
    case 'or': {
      const probes: IndexProbe[] = [];
      let total = 0;
      for (const part of candidates.parts) {
        const plan = planCandidates(part, size);
        if (!plan) return undefined;
        probes.push(...plan.probes);
        total += plan.total;
      }
      return { probes, total };
    }
  }
}

function negate(value: Truth): Truth {
  return value === UNDEFINED ? UNDEFINED : value === TRUE ? FALSE : TRUE;
}

function constant(value: Truth): IndexFilter {
  return { test: () => value, candidates: value === TRUE ? ALL : NONE };
}

function combine(type: 'and' | 'or', children: IndexFilter[]): IndexFilter {
  const tests = children.map((child) => child.test);
  // AND is FALSE at its first FALSE child, OR TRUE at its first TRUE one; otherwise one Undefined child makes it Undefined.
  const decisive = type === 'and' ? FALSE : TRUE;
  const otherwise = type === 'and' ? TRUE : FALSE;
  const test = (entry: EntryView): Truth => {
    let result: Truth = otherwise;
    for (const child of tests) {
      const value = child(entry);
      if (value === decisive) return decisive;
      if (value === UNDEFINED) result = UNDEFINED;
    }
    return result;
  };
  // An OR is TRUE where some child is: the union of exact children's lookups, exactly.
  const exact = type === 'or' && children.every((child) => child.exact);
  return { test, candidates: { kind: type, parts: children.map((child) => child.candidates) }, ...(exact ? { exact } : {}) };
}

/** A two-valued test: TRUE or FALSE, never Undefined. */
function decided(test: (entry: EntryView) => boolean, candidates: Candidates = ALL): IndexFilter {
  return { test: (entry) => (test(entry) ? TRUE : FALSE), candidates };
}

type Leaf = Exclude<FilterNode, { type: 'and' | 'or' | 'not' | 'undefined' }>;

/** One attribute assertion, as ldap-filter-sql.ts's translateLeaf reads it (the schema allows the assertion). */
function leaf(node: Leaf, def: AttributeDef): IndexFilter | undefined {
  if (def.match && node.type !== 'present') return matchLeaf(node, def.match);
  const n = DEF_INDEX.get(def)!;
  const source = def.source;
  switch (source.kind) {
    case 'text':
    case 'aliases':
    case 'proxyAddresses':
      return decided((entry) => entry.has(n));
    case 'commonName':
      // cn (the display name at least) is always there.
      return constant(TRUE);
    case 'integer': {
      if (node.type === 'present') return decided((entry) => entry.has(n));
      if (node.type === 'substrings' || !/^-?\d{1,9}$/.test(node.value.trim())) return constant(UNDEFINED);
      const value = Number(node.value.trim());
      const compare = node.type === 'gte' ? (held: number) => held >= value : node.type === 'lte' ? (held: number) => held <= value : (held: number) => held === value;
      return decided((entry) => entry.has(n) && compare(entry.capacity()));
    }
    case 'objectClass': {
      if (node.type === 'present') return constant(TRUE);
      if (node.type === 'gte' || node.type === 'lte') return constant(UNDEFINED);
      const kinds = kindsWhere((name) => matchesEntry(node, syntheticEntry({ objectClass: [name] })));
      if (kinds.length === 0) return constant(FALSE);
      if (kinds.length === KINDS.length) return constant(TRUE);
      const wanted = KINDS.map((kind) => kinds.includes(kind));
      return decided((entry) => wanted[entry.kind()]!);
    }
    case 'manager':
      // Presence is held; a manager's DN is not.
      return node.type === 'present' ? decided((entry) => entry.has(n)) : undefined;
    case 'members':
      // Members are not held.
      return undefined;
    case 'photo':
      // Photos are not held; any other assertion on them is Undefined.
      return node.type === 'present' ? undefined : constant(UNDEFINED);
    case 'id':
      return idLeaf(node);
    case 'timestamp': {
      if (node.type === 'present') return constant(TRUE);
      if (node.type === 'substrings' || node.type === 'approx') return constant(UNDEFINED);
      const date = parseGeneralizedTime(node.value.trim());
      if (!date) return constant(UNDEFINED);
      // GeneralizedTime in entries has whole seconds; compare at that precision (SQL: date_trunc('second', …)).
      const value = date.getTime() / 1000;
      const column = source.column;
      if (node.type === 'gte') return decided((entry) => entry.seconds(column) >= value);
      if (node.type === 'lte') return decided((entry) => entry.seconds(column) <= value);
      return decided((entry) => entry.seconds(column) === value);
    }
    case 'computed':
      return node.type === 'present' ? constant(TRUE) : constant(UNDEFINED);
  }
}

/** uid / entryUUID: the entry's id, lower-case hex (uuid byte order is its text order). */
function idLeaf(node: Leaf): IndexFilter {
  if (node.type === 'present') return constant(TRUE);
  if (node.type === 'substrings') {
    // SQL: e.id::text LIKE the raw parts, lower-cased.
    const parts = toByteParts({ initial: (node.initial ?? '').toLowerCase(), any: node.any.map((part) => part.toLowerCase()), final: (node.final ?? '').toLowerCase() });
    return decided((entry) => {
      const id = Buffer.from(entry.id(), 'latin1');
      return bytesMatchParts(id, 0, id.length, parts);
    });
  }
  const value = node.value.trim().toLowerCase();
  if (node.type === 'equality' || node.type === 'approx') return isUuid(value) ? decided((entry) => entry.id() === value) : constant(FALSE);
  if (!isUuid(value)) return constant(UNDEFINED);
  return node.type === 'gte' ? decided((entry) => entry.id() >= value) : decided((entry) => entry.id() <= value);
}

/**
 * Equality, substrings and approx on a string attribute, against its
 * prepared values (what directory_match_values holds): the same preparation
 * of the assertion as ldap-filter-sql.ts's matchTest.
 */
function matchLeaf(node: Exclude<Leaf, { type: 'present' }>, attr: MatchKey): IndexFilter | undefined {
  const rule = MATCH_FIELDS[attr].rule;
  switch (node.type) {
    case 'approx':
    case 'equality': {
      if (node.type === 'approx' && rule !== 'telephoneNumber') {
        // Phonetic keys are not held: SQL answers, unless the assertion has no key at all (Undefined either way).
        return approxKeys(node.value).length === 0 ? constant(UNDEFINED) : undefined;
      }
      const value = prepareValue(node.value, rule);
      if (value === undefined) return constant(UNDEFINED);
      const needle = Buffer.from(value);
      const equal = (buf: Uint8Array, start: number, end: number) => bytesEqual(buf, start, end, needle);
      return { ...decided((entry) => entry.someValue(attr, equal), { kind: 'probe', probe: { attr, value, prefix: false } }), exact: true };
    }
    case 'substrings': {
      const parts = substringsParts(node, rule);
      if (parts === undefined) return constant(UNDEFINED);
      if (parts === null) return constant(FALSE);
      const match = partsTest(toByteParts(parts));
      // Entries with a value starting with the initial part hold every match; else those holding its longest other part.
      const inside = [...parts.any, parts.final].reduce((longest, part) => (part.length > longest.length ? part : longest), '');
      const candidates: Candidates = parts.initial
        ? { kind: 'probe', probe: { attr, value: parts.initial, prefix: true } }
        : inside
          ? { kind: 'probe', probe: { attr, value: inside, prefix: false, contains: true } }
          : ALL;
      const test = decided((entry) => entry.someValue(attr, match), candidates);
      // `ab*`: the prefix lookup is the whole condition.
      return parts.initial && parts.any.length === 0 && !parts.final ? { ...test, exact: true } : test;
    }
    default:
      // Ordering: no string attribute has an ordering rule (hasRule stops these earlier).
      return constant(UNDEFINED);
  }
}
