import type { FilterNode } from './ldap-filter.ts';
import { lookupAttribute } from './ldap-schema.ts';

/**
 * Evaluates a filter against one in-memory entry, with RFC 4511's three
 * values (true, false, undefined). Used only for the handful of synthetic
 * entries (root DSE, cn=Subschema, a domain's ou=gal); directory entries
 * are always filtered by SQL (ldap-filter-sql.ts). Values compare
 * case-insensitively, as every attribute these entries carry does.
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
      const values = valuesOf(entry, node.attribute);
      if (values === undefined) return undefined;
      const test = tester(node);
      return values.some((v) => test(v.toLowerCase()));
    }
  }
}

function valuesOf(entry: SyntheticEntry, attribute: string): string[] | undefined {
  const lower = attribute.toLowerCase();
  const values = entry.get(lower) ?? entry.get(lookupAttribute(attribute)?.name.toLowerCase() ?? '');
  return values && values.length > 0 ? values : undefined;
}

function tester(node: Exclude<FilterNode, { type: 'and' | 'or' | 'not' | 'undefined' | 'present' }>): (lowerValue: string) => boolean {
  switch (node.type) {
    case 'equality':
      return (v) => v === node.value.toLowerCase();
    case 'approx':
      return (v) => v.startsWith(node.value.toLowerCase());
    case 'gte':
      return (v) => v >= node.value.toLowerCase();
    case 'lte':
      return (v) => v <= node.value.toLowerCase();
    case 'substrings': {
      const parts = [node.initial ?? '', ...node.any, node.final ?? ''].map((p) => p.toLowerCase());
      return (v) => {
        const initial = parts[0]!;
        const final = parts[parts.length - 1]!;
        if (!v.startsWith(initial) || !v.endsWith(final) || v.length < initial.length + final.length) return false;
        let position = initial.length;
        const end = v.length - final.length;
        for (const part of parts.slice(1, -1)) {
          const found = v.indexOf(part, position);
          if (found < 0 || found + part.length > end) return false;
          position = found + part.length;
        }
        return true;
      };
    }
  }
}
