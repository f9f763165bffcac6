import { lookupAttribute, type AttributeDef } from './ldap-schema.ts';

/**
 * The requested attribute list of a search (RFC 4511 §4.5.1.8, RFC 3673):
 * empty or `*` means all user attributes, `+` all operational ones, `1.1`
 * alone means none; names are matched case-insensitively and unknown ones
 * are skipped, not refused.
 */
export interface AttributeSelection {
  allUser: boolean;
  allOperational: boolean;
  /** Canonical definitions named explicitly. */
  named: Set<AttributeDef>;
  /** Lower-cased names that matched no definition (synthetic entries may still carry them). */
  otherNames: Set<string>;
}

export function parseAttributeSelection(requested: readonly string[]): AttributeSelection {
  const named = new Set<AttributeDef>();
  const otherNames = new Set<string>();
  let allUser = requested.length === 0;
  let allOperational = false;
  for (const name of requested) {
    if (name === '*') allUser = true;
    else if (name === '+') allOperational = true;
    else if (name === '1.1') continue;
    else {
      const def = lookupAttribute(name);
      if (def) named.add(def);
      else otherNames.add(name.split(';')[0]!.toLowerCase());
    }
  }
  return { allUser, allOperational, named, otherNames };
}

export function wantsAttribute(selection: AttributeSelection, def: AttributeDef): boolean {
  if (selection.named.has(def)) return true;
  return def.operational ? selection.allOperational : selection.allUser;
}

/** For entries outside the schema table (root DSE, subschema): by lower-cased name. */
export function wantsName(selection: AttributeSelection, lowerName: string, operational: boolean): boolean {
  if (selection.otherNames.has(lowerName)) return true;
  const def = lookupAttribute(lowerName);
  if (def && selection.named.has(def)) return true;
  return operational ? selection.allOperational : selection.allUser;
}
