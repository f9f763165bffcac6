import { approxKeys } from '../directory/search/name-fold.ts';
import { MATCH_FIELDS } from '../directory/search/search-terms.ts';
import { prepareValue, substringsParts, type MatchRule } from '../directory/search/string-prep.ts';
import type { FilterNode } from './ldap-filter.ts';
import { bytesMatchParts, toByteParts } from './ldap-index-filter-bytes.ts';
import { hasRule, lookupAttribute } from './ldap-schema.ts';

/**
 * Evaluates a filter against one in-memory entry, with RFC 4511's three
 * values (true, false, undefined). Used only for the handful of synthetic
 * entries (root DSE, cn=Subschema, a domain's ou=gal); directory entries
 * are always filtered by SQL (ldap-filter-sql.ts). It follows the same
 * schema and preparation: an assertion with no matching rule is Undefined,
 * strings compare by their attribute's rule after RFC 4518 preparation
 * (caseIgnoreMatch for attributes dmci's schema does not list).
 */
export type SyntheticEntry = Map<string, string[]>;

export function syntheticEntry(attributes: Record<string, string[]>): SyntheticEntry {
  return new Map(Object.entries(attributes).map(([name, values]) => [name.toLowerCase(), values]));
}

export function matchesEntry(node: FilterNode, entry: SyntheticEntry): boolean {
  return evaluate(node, entry) === true;
}

function evaluate(node: FilterNode, entry: SyntheticEntry): boolean | undefined {
  switch (node.type) {
    case 'and': {
      let result: boolean | undefined = true;
      for (const child of node.children) {
        const value = evaluate(child, entry);
        if (value === false) return false;
        if (value === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      let result: boolean | undefined = false;
      for (const child of node.children) {
        const value = evaluate(child, entry);
        if (value === true) return true;
        if (value === undefined) result = undefined;
      }
      return result;
    }
    case 'not': {
      const value = evaluate(node.child, entry);
      return value === undefined ? undefined : !value;
    }
    case 'undefined':
      return undefined;
    case 'present':
      return valuesOf(entry, node.attribute) !== undefined;
    default: {
      const def = lookupAttribute(node.attribute);
      if (def && !hasRule(def, node.type)) return undefined;
      const values = valuesOf(entry, node.attribute);
      // Absent: FALSE for an attribute the schema knows, Undefined for one nobody knows.
      if (values === undefined) return def ? false : undefined;
      const rule = def?.match ? MATCH_FIELDS[def.match].rule : 'caseIgnore';
      // Approximate match is phonetic for names and addresses only; elsewhere it is equality (as in slapd).
      const phonetic = def?.match !== undefined && rule !== 'telephoneNumber';
      const test = tester(node.type === 'approx' && !phonetic ? { ...node, type: 'equality' } : node, rule);
      return test && values.some(test);
    }
  }
}

function valuesOf(entry: SyntheticEntry, attribute: string): string[] | undefined {
  const lower = attribute.toLowerCase();
  const values = entry.get(lower) ?? entry.get(lookupAttribute(attribute)?.name.toLowerCase() ?? '');
  return values && values.length > 0 ? values : undefined;
}

/** A test of one value; undefined when the assertion cannot be prepared (Undefined). */
function tester(node: Exclude<FilterNode, { type: 'and' | 'or' | 'not' | 'undefined' | 'present' }>, rule: MatchRule): ((value: string) => boolean) | undefined {
  switch (node.type) {
    case 'equality': {
      const wanted = prepareValue(node.value, rule);
      return wanted === undefined ? undefined : (v) => prepareValue(v, rule) === wanted;
    }
    case 'approx': {
      // The GAL's approximate match (name-fold.ts): every word of the assertion sounds like a word of the value.
      const wanted = approxKeys(node.value);
      if (wanted.length === 0) return undefined;
      return (v) => {
        const keys = new Set(approxKeys(v));
        return wanted.every((key) => keys.has(key));
      };
    }
    // Ordering only reaches here for attributes outside dmci's schema (a synthetic entry's own).
    case 'gte':
      return (v) => v.toLowerCase() >= node.value.toLowerCase();
    case 'lte':
      return (v) => v.toLowerCase() <= node.value.toLowerCase();
    case 'substrings': {
      const parts = substringsParts(node, rule);
      if (parts === undefined) return undefined;
      if (parts === null) return () => false;
      const bytes = toByteParts(parts);
      return (raw) => {
        const v = prepareValue(raw, rule);
        if (v === undefined) return false;
        const b = Buffer.from(v);
        return bytesMatchParts(b, 0, b.length, bytes);
      };
    }
  }
}

