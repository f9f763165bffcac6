import { LdapError, ResultCode } from './ldap-result.ts';

/**
 * dmci's own search filter tree (RFC 4511 §4.5.1.7). ldap-server.ts builds it
 * from ldapjs's parsed filter objects; everything after that (limits, SQL,
 * in-memory matching of the few synthetic entries) works on this type only.
 * Attribute names are kept as sent; lookups are case-insensitive.
 */
export type FilterNode =
  | { type: 'and' | 'or'; children: FilterNode[] }
  | { type: 'not'; child: FilterNode }
  | { type: 'equality' | 'approx' | 'gte' | 'lte'; attribute: string; value: string }
  | { type: 'substrings'; attribute: string; initial?: string; any: string[]; final?: string }
  | { type: 'present'; attribute: string }
  /** A filter item dmci cannot evaluate (an extensible match): Undefined per RFC 4511 §4.5.1.7. */
  | { type: 'undefined'; description: string };

export interface FilterLimits {
  /** Nesting of and/or/not, counting the outermost level as 1. */
  maxDepth: number;
}

/** Throws adminLimitExceeded (11) with a clear message when the filter nests too deep. */
export function checkFilterLimits(node: FilterNode, limits: FilterLimits): void {
  const depth = filterDepth(node);
  if (depth > limits.maxDepth) {
    throw new LdapError(ResultCode.adminLimitExceeded, `search filter nests ${depth} levels deep; the limit is ${limits.maxDepth} (DMCI_LDAP_MAX_FILTER_DEPTH)`);
  }
}

export function filterDepth(node: FilterNode): number {
  // Iterative: a hostile filter must not be able to overflow the stack here.
  let max = 0;
  const stack: Array<[FilterNode, number]> = [[node, 1]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    max = Math.max(max, depth);
    if (current.type === 'and' || current.type === 'or') for (const child of current.children) stack.push([child, depth + 1]);
    else if (current.type === 'not') stack.push([current.child, depth + 1]);
  }
  return max;
}

/** RFC 4515 string form, for logs and for the paging cookie's fingerprint. */
export function filterToString(node: FilterNode): string {
  switch (node.type) {
    case 'and':
      return `(&${node.children.map(filterToString).join('')})`;
    case 'or':
      return `(|${node.children.map(filterToString).join('')})`;
    case 'not':
      return `(!${filterToString(node.child)})`;
    case 'equality':
      return `(${node.attribute}=${escapeFilterValue(node.value)})`;
    case 'approx':
      return `(${node.attribute}~=${escapeFilterValue(node.value)})`;
    case 'gte':
      return `(${node.attribute}>=${escapeFilterValue(node.value)})`;
    case 'lte':
      return `(${node.attribute}<=${escapeFilterValue(node.value)})`;
    case 'present':
      return `(${node.attribute}=*)`;
    case 'substrings':
      return `(${node.attribute}=${escapeFilterValue(node.initial ?? '')}*${node.any.map((a) => `${escapeFilterValue(a)}*`).join('')}${escapeFilterValue(node.final ?? '')})`;
    case 'undefined':
      return `(${node.description})`;
  }
}

export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
