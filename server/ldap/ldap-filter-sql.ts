import { sql, type RawBuilder } from 'kysely';
import { isUuid, locateDn, parseDn } from './ldap-dn.ts';
import { parseGeneralizedTime } from './ldap-entry.ts';
import type { FilterNode } from './ldap-filter.ts';
import { matchesEntry, syntheticEntry } from './ldap-match.ts';
import { approxKeys } from '../directory/search/name-fold.ts';
import { MATCH_FIELDS, type MatchKey } from '../directory/search/search-terms.ts';
import { escapeLike, likeRange, prepareValue, substringsPattern } from '../directory/search/string-prep.ts';
import { hasRule, kindsWhere, lookupAttribute, type AttributeDef, type AttributeSource } from './ldap-schema.ts';

/**
 * Translates a filter into one parameterised SQL condition over
 * `directory_entries e` (with the visible manager joined as `m`), so the
 * database does the searching and its indexes do the work: string
 * attributes are matched against their prepared values
 * (directory_match_values, see matchTest), per the matching rules
 * cn=Subschema publishes for them.
 *
 * LDAP filters have three values (RFC 4511 §4.5.1.7: an unknown attribute,
 * a missing one or an unusable assertion is Undefined, and NOT Undefined is
 * still Undefined). Each node therefore becomes two two-valued conditions:
 * `t` (the filter is TRUE) and `f` (it is FALSE). AND, OR and NOT combine
 * them without ever negating SQL NULL, and a filter with no NOT in it turns
 * into plain `t` conditions the planner can OR together over indexes.
 */
export interface SqlFilterContext {
  /** The one domain being searched; every subquery stays inside it. */
  domainId: string;
  /** Its name, for recognising DNs in manager/member assertions. */
  domain: string;
}

/**
 * `e.id in (one subquery per set, unioned)`: kept apart from other
 * conditions so that an OR of attribute tests becomes one IN over a UNION,
 * which PostgreSQL reads as id-ordered streams merged and stopped at the
 * page size. (An OR of separate INs can only be evaluated per entry while
 * walking every entry in id order.)
 */
class IdSet {
  /** `ranged`: every set is one index range (equality or a literal prefix), whatever the values. */
  constructor(
    readonly sets: ReadonlyArray<RawBuilder<unknown>>,
    readonly ranged: boolean,
  ) {}

  toSql(): RawBuilder<boolean> {
    return sql<boolean>`e.id in (${sql.join(this.sets, sql` union `)})`;
  }
}

type Cond = RawBuilder<boolean> | boolean | IdSet;
interface Pair {
  t: Cond;
  f: Cond;
}

export function filterToSql(node: FilterNode, context: SqlFilterContext): RawBuilder<boolean> {
  return filterStatement(node, context).where;
}

/**
 * The condition, and whether one plan fits every value of the filter's shape:
 * an OR of index ranges (Outlook's ANR, prefix and exact lookups) is a union
 * of range scans whatever the values, so its statement may be prepared and
 * planned once (db/prepared-statements.ts). Other shapes' best plans depend on
 * how many entries each value matches, which only a plan for the values sees.
 */
export function filterStatement(
  node: FilterNode,
  context: SqlFilterContext,
): { where: RawBuilder<boolean>; genericPlan: boolean } {
  const t = translate(node, context).t;
  return { where: toSql(t), genericPlan: t instanceof IdSet && t.ranged };
}

function translate(node: FilterNode, context: SqlFilterContext): Pair {
  switch (node.type) {
    case 'and': {
      const pairs = node.children.map((child) => translate(child, context));
      return { t: all(pairs.map((p) => p.t)), f: any(pairs.map((p) => p.f)) };
    }
    case 'or': {
      const pairs = node.children.map((child) => translate(child, context));
      return { t: any(pairs.map((p) => p.t)), f: all(pairs.map((p) => p.f)) };
    }
    case 'not': {
      const inner = translate(node.child, context);
      return { t: inner.f, f: inner.t };
    }
    case 'undefined':
      return UNDEFINED;
    default: {
      const def = lookupAttribute(node.attribute);
      if (!def || !hasRule(def, node.type)) return UNDEFINED;
      const leaf = translateLeaf(node, def, context);
      if (!leaf) return UNDEFINED;
      // A known attribute the entry lacks makes a test FALSE, not Undefined (RFC 4511 §4.5.1.7 keeps
      // Undefined for unknown attributes, missing rules and invalid assertions; slapd answers the same).
      if (node.type === 'present') return { t: leaf.present, f: negate(leaf.present) };
      return { t: leaf.t, f: negate(leaf.t) };
    }
  }
}

const UNDEFINED: Pair = { t: false, f: false };

type Leaf = Exclude<FilterNode, { type: 'and' | 'or' | 'not' | 'undefined' }>;

/** `t`: some value matches; `present`: the entry has the attribute. Undefined when the assertion cannot be evaluated. */
function translateLeaf(node: Leaf, def: AttributeDef, context: SqlFilterContext): { t: Cond; present: Cond } | undefined {
  const source = def.source;
  if (def.match && node.type !== 'present') {
    const test = matchTest(node, def.match, context);
    return test === undefined ? undefined : { t: test, present: presence(source) };
  }
  switch (source.kind) {
    case 'text':
    case 'commonName':
    case 'aliases':
    case 'proxyAddresses':
      return { t: presence(source), present: presence(source) };
    case 'integer': {
      const column = sql.ref(`e.${source.column}`);
      const present = sql<boolean>`${column} is not null`;
      if (node.type === 'present') return { t: present, present };
      if (node.type === 'substrings' || !/^-?\d{1,9}$/.test(node.value.trim())) return undefined;
      const value = Number(node.value.trim());
      const op = node.type === 'gte' ? sql`>=` : node.type === 'lte' ? sql`<=` : sql`=`;
      return { t: sql<boolean>`${column} ${op} ${value}`, present };
    }
    case 'objectClass': {
      if (node.type === 'present') return { t: true, present: true };
      if (node.type === 'gte' || node.type === 'lte') return undefined;
      const kinds = kindsWhere((name) => matchesEntry(node, syntheticEntry({ objectClass: [name] })));
      return { t: kindIn(kinds), present: true };
    }
    case 'members': {
      const visibleMembers = sql`from directory_members dm join directory_entries x on x.id = dm.member_id and x.visible where dm.group_id = e.id`;
      const present = sql<boolean>`exists (select 1 ${visibleMembers})`;
      if (node.type === 'present') return { t: present, present };
      if (node.type !== 'equality') return undefined;
      const target = entryAssertion(node.value, context);
      if (target === undefined) return undefined;
      if (target === null) return { t: false, present };
      const match = target.by === 'mail' ? sql`x.email = ${target.value}` : sql`x.id = ${target.value}::uuid`;
      return { t: sql<boolean>`exists (select 1 ${visibleMembers} and ${match})`, present };
    }
    case 'manager': {
      const present = sql<boolean>`m.id is not null`;
      if (node.type === 'present') return { t: present, present };
      if (node.type !== 'equality') return undefined;
      const target = entryAssertion(node.value, context);
      if (target === undefined) return undefined;
      if (target === null) return { t: false, present };
      return { t: target.by === 'mail' ? sql<boolean>`m.email = ${target.value}` : sql<boolean>`m.id = ${target.value}::uuid`, present };
    }
    case 'photo': {
      const present = source.jpegOnly ? sql<boolean>`e.photo is not null and e.photo_type = 'image/jpeg'` : sql<boolean>`e.photo is not null`;
      return node.type === 'present' ? { t: present, present } : undefined;
    }
    case 'id': {
      if (node.type === 'present') return { t: true, present: true };
      if (node.type === 'equality' || node.type === 'approx') {
        const value = node.value.trim().toLowerCase();
        return { t: isUuid(value) ? sql<boolean>`e.id = ${value}::uuid` : false, present: true };
      }
      if (node.type === 'substrings') return { t: sql<boolean>`e.id::text like ${likePattern(node).toLowerCase()}`, present: true };
      // UUIDOrderingMatch: byte order, which is PostgreSQL's uuid order.
      const value = node.value.trim().toLowerCase();
      if (!isUuid(value)) return undefined;
      return { t: node.type === 'gte' ? sql<boolean>`e.id >= ${value}::uuid` : sql<boolean>`e.id <= ${value}::uuid`, present: true };
    }
    case 'timestamp': {
      if (node.type === 'present') return { t: true, present: true };
      if (node.type === 'substrings' || node.type === 'approx') return undefined;
      const date = parseGeneralizedTime(node.value.trim());
      if (!date) return undefined;
      const column = sql.ref(`e.${source.column}`);
      // GeneralizedTime in entries has whole seconds; compare at that precision.
      const truncated = sql`date_trunc('second', ${column})`;
      const op = node.type === 'gte' ? sql`>=` : node.type === 'lte' ? sql`<=` : sql`=`;
      return { t: sql<boolean>`${truncated} ${op} ${date}`, present: true };
    }
    case 'computed':
      return node.type === 'present' ? { t: true, present: true } : undefined;
  }
}

/** Whether the entry has a value of a text-valued attribute. */
function presence(source: AttributeSource): Cond {
  switch (source.kind) {
    case 'text':
      return sql<boolean>`${sql.ref(`e.${source.column}`)} <> ''`;
    case 'aliases':
      return sql<boolean>`exists (select 1 from directory_aliases a where a.entry_id = e.id)`;
    case 'proxyAddresses':
      return any([sql<boolean>`e.email <> ''`, sql<boolean>`exists (select 1 from directory_aliases a where a.entry_id = e.id)`]);
    default:
      // cn (the display name at least) and the other sources with match values always have one.
      return true;
  }
}

/**
 * Equality, substrings and approx on a string attribute: the assertion is
 * prepared by the attribute's matching rule (RFC 4518, string-prep.ts) and
 * compared with the entry's values prepared the same way when they were
 * written (directory_match_values): equality and an initial substring are a
 * btree range scan, other substrings an id-ordered walk of the attribute's
 * values (directory_match_values_stream) or the trigram index, approx the
 * keys' GIN index. Undefined when the assertion cannot be prepared.
 */
function matchTest(node: Exclude<Leaf, { type: 'present' }>, attr: MatchKey, context: SqlFilterContext): Cond | undefined {
  const rule = MATCH_FIELDS[attr].rule;
  let test: RawBuilder<boolean>;
  let ranged = false;
  switch (node.type) {
    case 'approx':
    case 'equality': {
      if (node.type === 'approx' && rule !== 'telephoneNumber') {
        const keys = approxKeys(node.value);
        if (keys.length === 0) return undefined;
        test = sql<boolean>`v.approx @> ${keys}::text[]`;
        break;
      }
      // Equality, and approx on phone numbers (which have no approximate rule: equality stands in, as in slapd).
      const value = prepareValue(node.value, rule);
      if (value === undefined) return undefined;
      test = sql<boolean>`v.value = ${value}`;
      ranged = true;
      break;
    }
    case 'substrings': {
      const pattern = substringsPattern(node, rule);
      if (pattern === undefined) return undefined;
      if (pattern === null) return false;
      // A literal start is also given as range bounds: the index range a prepared statement's generic plan can use.
      const range = likeRange(pattern);
      const like = sql<boolean>`v.value like ${pattern}`;
      if (!range) test = like;
      else {
        const bounds = sql<boolean>`v.value ~>=~ ${range.low} and v.value ~<~ ${range.high}`;
        test = range.exact ? bounds : sql<boolean>`${bounds} and ${like}`;
        ranged = range.exact;
      }
      break;
    }
    default:
      // Ordering: no string attribute has an ordering rule (hasRule stops these earlier).
      return undefined;
  }
  return new IdSet([sql`select v.entry_id from directory_match_values v where v.domain_id = ${context.domainId} and v.attr = ${attr} and ${test}`], ranged);
}

export function likePattern(node: { initial?: string; any: string[]; final?: string }): string {
  return `${escapeLike(node.initial ?? '')}%${node.any.map((part) => `${escapeLike(part)}%`).join('')}${escapeLike(node.final ?? '')}`;
}


/**
 * A DN assertion naming an entry of the searched domain: its RDN. `null`
 * for a well-formed DN that names nothing here (the match is FALSE),
 * undefined for one that is not a DN at all (Undefined).
 */
function entryAssertion(value: string, context: SqlFilterContext): { by: 'mail' | 'uid'; value: string } | null | undefined {
  let location;
  try {
    location = locateDn(parseDn(value));
  } catch {
    return undefined;
  }
  if (location.kind !== 'entry' || location.domain !== context.domain) return null;
  if (location.by === 'uid' && !isUuid(location.value)) return null;
  return { by: location.by, value: location.value };
}

function kindIn(kinds: string[]): Cond {
  if (kinds.length === 0) return false;
  if (kinds.length === 3) return true;
  return sql<boolean>`e.kind in (${sql.join(kinds)})`;
}

/** AND keeps each IN apart: PostgreSQL turns them into semi-joins and probes the cheaper ones per candidate. */
function all(conds: Cond[]): Cond {
  if (conds.includes(false)) return false;
  const parts = conds.filter((c): c is RawBuilder<boolean> | IdSet => c !== true);
  if (parts.length === 0) return true;
  if (parts.length === 1) return parts[0]!;
  return sql<boolean>`(${sql.join(parts.map(toSql), sql` and `)})`;
}

/** OR merges the id sets among its parts into one IdSet (see IdSet). */
function any(conds: Cond[]): Cond {
  if (conds.includes(true)) return true;
  const sets = conds.filter((c): c is IdSet => c instanceof IdSet);
  const merged =
    sets.length > 1
      ? [
          new IdSet(
            sets.flatMap((s) => s.sets),
            sets.every((s) => s.ranged),
          ),
        ]
      : sets;
  const parts = [...merged, ...conds.filter((c): c is RawBuilder<boolean> => c !== false && !(c instanceof IdSet))];
  if (parts.length === 0) return false;
  if (parts.length === 1) return parts[0]!;
  return sql<boolean>`(${sql.join(parts.map(toSql), sql` or `)})`;
}

/** NOT for a condition that may be NULL: NULL (no value) counts as not matching. */
function negate(cond: Cond): Cond {
  if (typeof cond === 'boolean') return !cond;
  return sql<boolean>`not coalesce(${toSql(cond)}, false)`;
}

function toSql(cond: Cond): RawBuilder<boolean> {
  if (cond instanceof IdSet) return cond.toSql();
  return typeof cond === 'boolean' ? (cond ? sql<boolean>`true` : sql<boolean>`false`) : cond;
}
