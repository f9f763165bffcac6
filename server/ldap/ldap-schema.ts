import type { DirectoryKind } from '../directory/directory.table.ts';
import type { MatchKey } from '../directory/search/search-terms.ts';

/**
 * The LDAP view of the GAL: which attribute names exist, where each one's
 * values come from, and which object classes each kind of entry has. The
 * entry builder, the filter translator and the subschema entry all read
 * this one table, so what a filter matches and what a search returns
 * cannot drift apart.
 */

/** dmci's own OID arc: a UUID-derived OID (ITU-T X.667, arc 2.25), which needs no registration. */
export const DMCI_OID = '2.25.268398466709207042471264077432238121228';

/** Text columns of directory_entries that LDAP attributes map to. */
export type TextColumn =
  | 'display_name'
  | 'given_name'
  | 'surname'
  | 'email'
  | 'title'
  | 'department'
  | 'company'
  | 'office'
  | 'business_phone'
  | 'mobile_phone'
  | 'resource_type'
  | 'location';

export type AttributeSource =
  | { kind: 'text'; column: TextColumn }
  /** common_names, else the display name. */
  | { kind: 'commonName' }
  | { kind: 'integer'; column: 'capacity' }
  | { kind: 'objectClass' }
  /** directory_aliases, bare addresses. */
  | { kind: 'aliases' }
  /** Exchange style: `SMTP:primary` and `smtp:alias` for each alias. */
  | { kind: 'proxyAddresses' }
  /** Visible members of a group, as DNs. */
  | { kind: 'members' }
  /** The visible manager, as a DN. */
  | { kind: 'manager' }
  | { kind: 'photo'; jpegOnly: boolean }
  | { kind: 'id' }
  | { kind: 'timestamp'; column: 'created_at' | 'updated_at' }
  /** Values computed by the entry builder with no filter support beyond presence. */
  | { kind: 'computed'; what: 'entryDN' | 'subschemaSubentry' | 'hasSubordinates' };

export interface AttributeDef {
  /** The name dmci returns. */
  name: string;
  /** Further names a client may use (all matched case-insensitively). */
  aliases?: string[];
  oid: string;
  syntax: string;
  equality?: string;
  substr?: string;
  ordering?: string;
  single?: boolean;
  operational?: boolean;
  source: AttributeSource;
  /**
   * The prepared values equality, substrings and approx assertions are
   * matched against (directory_match_values.attr, search/search-terms.ts).
   */
  match?: MatchKey;
}

const S = {
  directoryString: '1.3.6.1.4.1.1466.115.121.1.15',
  ia5: '1.3.6.1.4.1.1466.115.121.1.26',
  dn: '1.3.6.1.4.1.1466.115.121.1.12',
  jpeg: '1.3.6.1.4.1.1466.115.121.1.28',
  octets: '1.3.6.1.4.1.1466.115.121.1.40',
  integer: '1.3.6.1.4.1.1466.115.121.1.27',
  oid: '1.3.6.1.4.1.1466.115.121.1.38',
  phone: '1.3.6.1.4.1.1466.115.121.1.50',
  time: '1.3.6.1.4.1.1466.115.121.1.24',
  uuid: '1.3.6.1.1.16.1',
  boolean: '1.3.6.1.4.1.1466.115.121.1.7',
};
const text = (column: TextColumn): AttributeSource => ({ kind: 'text', column });
/**
 * No ORDERING rule on names, addresses and phones, as in the standard
 * schema (RFC 4519, OpenLDAP's core and inetOrgPerson schema): `(sn<=X)` is
 * Undefined, as slapd answers it. Only integers, times and UUIDs order.
 */
const ci = (match: MatchKey) => ({ equality: 'caseIgnoreMatch', substr: 'caseIgnoreSubstringsMatch', match });
const ia5ci = (match: MatchKey) => ({ equality: 'caseIgnoreIA5Match', substr: 'caseIgnoreIA5SubstringsMatch', match });
const phone = (match: MatchKey) => ({ equality: 'telephoneNumberMatch', substr: 'telephoneNumberSubstringsMatch', match });

export const ATTRIBUTES: readonly AttributeDef[] = [
  { name: 'objectClass', oid: '2.5.4.0', syntax: S.oid, equality: 'objectIdentifierMatch', source: { kind: 'objectClass' } },
  { name: 'cn', aliases: ['commonName'], oid: '2.5.4.3', syntax: S.directoryString, ...ci('cn'), source: { kind: 'commonName' } },
  { name: 'displayName', oid: '2.16.840.1.113730.3.1.241', syntax: S.directoryString, ...ci('displayName'), single: true, source: text('display_name') },
  { name: 'sn', aliases: ['surname'], oid: '2.5.4.4', syntax: S.directoryString, ...ci('sn'), source: text('surname') },
  { name: 'givenName', aliases: ['gn'], oid: '2.5.4.42', syntax: S.directoryString, ...ci('givenName'), source: text('given_name') },
  { name: 'mail', aliases: ['email', 'rfc822Mailbox'], oid: '0.9.2342.19200300.100.1.3', syntax: S.ia5, ...ia5ci('mail'), source: text('email') },
  { name: 'otherMailbox', oid: '0.9.2342.19200300.100.1.22', syntax: S.ia5, ...ia5ci('otherMailbox'), source: { kind: 'aliases' } },
  { name: 'proxyAddresses', oid: '1.2.840.113556.1.2.210', syntax: S.directoryString, ...ci('proxyAddresses'), source: { kind: 'proxyAddresses' } },
  { name: 'title', oid: '2.5.4.12', syntax: S.directoryString, ...ci('title'), source: text('title') },
  { name: 'departmentNumber', oid: '2.16.840.1.113730.3.1.2', syntax: S.directoryString, ...ci('department'), source: text('department') },
  { name: 'ou', aliases: ['organizationalUnitName'], oid: '2.5.4.11', syntax: S.directoryString, ...ci('department'), source: text('department') },
  { name: 'department', oid: '1.2.840.113556.1.2.141', syntax: S.directoryString, ...ci('department'), single: true, source: text('department') },
  { name: 'o', aliases: ['organizationName'], oid: '2.5.4.10', syntax: S.directoryString, ...ci('company'), source: text('company') },
  { name: 'company', oid: '1.2.840.113556.1.2.146', syntax: S.directoryString, ...ci('company'), single: true, source: text('company') },
  { name: 'physicalDeliveryOfficeName', oid: '2.5.4.19', syntax: S.directoryString, ...ci('office'), source: text('office') },
  { name: 'telephoneNumber', oid: '2.5.4.20', syntax: S.phone, ...phone('telephoneNumber'), source: text('business_phone') },
  { name: 'mobile', aliases: ['mobileTelephoneNumber'], oid: '0.9.2342.19200300.100.1.41', syntax: S.phone, ...phone('mobile'), source: text('mobile_phone') },
  { name: 'manager', oid: '0.9.2342.19200300.100.1.10', syntax: S.dn, equality: 'distinguishedNameMatch', source: { kind: 'manager' } },
  { name: 'member', oid: '2.5.4.31', syntax: S.dn, equality: 'distinguishedNameMatch', source: { kind: 'members' } },
  { name: 'jpegPhoto', oid: '0.9.2342.19200300.100.1.60', syntax: S.jpeg, source: { kind: 'photo', jpegOnly: true } },
  { name: 'thumbnailPhoto', oid: '2.16.840.1.113730.3.1.35', syntax: S.octets, single: true, source: { kind: 'photo', jpegOnly: false } },
  { name: 'uid', aliases: ['userid'], oid: '0.9.2342.19200300.100.1.1', syntax: S.directoryString, equality: 'caseIgnoreMatch', substr: 'caseIgnoreSubstringsMatch', source: { kind: 'id' } },
  { name: 'dmciResourceType', oid: `${DMCI_OID}.1.1`, syntax: S.directoryString, ...ci('resourceType'), single: true, source: text('resource_type') },
  { name: 'roomCapacity', oid: `${DMCI_OID}.1.2`, syntax: S.integer, equality: 'integerMatch', ordering: 'integerOrderingMatch', single: true, source: { kind: 'integer', column: 'capacity' } },
  { name: 'location', oid: `${DMCI_OID}.1.3`, syntax: S.directoryString, ...ci('location'), single: true, source: text('location') },
  // Operational attributes: returned for "+" or when named.
  { name: 'entryUUID', oid: '1.3.6.1.1.16.4', syntax: S.uuid, equality: 'UUIDMatch', ordering: 'UUIDOrderingMatch', single: true, operational: true, source: { kind: 'id' } },
  { name: 'createTimestamp', oid: '2.5.18.1', syntax: S.time, equality: 'generalizedTimeMatch', ordering: 'generalizedTimeOrderingMatch', single: true, operational: true, source: { kind: 'timestamp', column: 'created_at' } },
  { name: 'modifyTimestamp', oid: '2.5.18.2', syntax: S.time, equality: 'generalizedTimeMatch', ordering: 'generalizedTimeOrderingMatch', single: true, operational: true, source: { kind: 'timestamp', column: 'updated_at' } },
  { name: 'entryDN', oid: '1.3.6.1.1.20', syntax: S.dn, equality: 'distinguishedNameMatch', single: true, operational: true, source: { kind: 'computed', what: 'entryDN' } },
  { name: 'subschemaSubentry', oid: '2.5.18.10', syntax: S.dn, equality: 'distinguishedNameMatch', single: true, operational: true, source: { kind: 'computed', what: 'subschemaSubentry' } },
  { name: 'hasSubordinates', oid: '2.5.18.9', syntax: S.boolean, equality: 'booleanMatch', single: true, operational: true, source: { kind: 'computed', what: 'hasSubordinates' } },
];

const byName = new Map<string, AttributeDef>();
for (const def of ATTRIBUTES) for (const name of [def.name, ...(def.aliases ?? []), def.oid]) byName.set(name.toLowerCase(), def);

/**
 * Looks an attribute description up by name or OID, case-insensitively,
 * ignoring options (`jpegPhoto;binary`). Unknown names give undefined: in a
 * filter they evaluate to Undefined, in an attribute list they are skipped.
 */
export function lookupAttribute(description: string): AttributeDef | undefined {
  const options = description.indexOf(';');
  const base = (options < 0 ? description : description.slice(0, options)).toLowerCase();
  return byName.get(base.startsWith('oid.') ? base.slice(4) : base);
}

/**
 * Whether the attribute's schema has a matching rule for an assertion
 * (RFC 4511 §4.5.1.7: without one the filter item is Undefined). Both
 * evaluators (SQL and in-memory) ask this, so what cn=Subschema publishes
 * is exactly what is answered.
 */
export function hasRule(def: AttributeDef, type: 'present' | 'equality' | 'approx' | 'substrings' | 'gte' | 'lte'): boolean {
  switch (type) {
    case 'present':
      return true;
    case 'equality':
    case 'approx':
      return def.equality !== undefined;
    case 'substrings':
      return def.substr !== undefined;
    case 'gte':
    case 'lte':
      return def.ordering !== undefined;
  }
}

export interface ObjectClassDef {
  name: string;
  oid: string;
  sup?: string;
  kind: 'ABSTRACT' | 'STRUCTURAL' | 'AUXILIARY';
  must: string[];
  may: string[];
}

const galExtras = ['otherMailbox', 'proxyAddresses', 'department', 'company', 'thumbnailPhoto', 'location', 'dmciResourceType', 'roomCapacity'];

export const OBJECT_CLASSES: readonly ObjectClassDef[] = [
  { name: 'top', oid: '2.5.6.0', kind: 'ABSTRACT', must: ['objectClass'], may: [] },
  { name: 'person', oid: '2.5.6.6', sup: 'top', kind: 'STRUCTURAL', must: ['sn', 'cn'], may: ['telephoneNumber'] },
  { name: 'organizationalPerson', oid: '2.5.6.7', sup: 'person', kind: 'STRUCTURAL', must: [], may: ['title', 'ou', 'physicalDeliveryOfficeName', 'telephoneNumber'] },
  {
    name: 'inetOrgPerson',
    oid: '2.16.840.1.113730.3.2.2',
    sup: 'organizationalPerson',
    kind: 'STRUCTURAL',
    must: [],
    may: ['departmentNumber', 'displayName', 'givenName', 'jpegPhoto', 'mail', 'manager', 'mobile', 'o', 'uid'],
  },
  { name: 'groupOfNames', oid: '2.5.6.9', sup: 'top', kind: 'STRUCTURAL', must: ['member', 'cn'], may: ['o', 'ou', 'mail', 'displayName'] },
  { name: 'organizationalUnit', oid: '2.5.6.5', sup: 'top', kind: 'STRUCTURAL', must: ['ou'], may: [] },
  {
    name: 'dmciResource',
    oid: `${DMCI_OID}.2.1`,
    sup: 'top',
    kind: 'STRUCTURAL',
    must: ['cn'],
    may: ['mail', 'displayName', 'dmciResourceType', 'roomCapacity', 'location', 'physicalDeliveryOfficeName', 'telephoneNumber', 'uid'],
  },
  { name: 'dmciGalEntry', oid: `${DMCI_OID}.2.2`, kind: 'AUXILIARY', sup: 'top', must: [], may: galExtras },
  { name: 'subschema', oid: '2.5.20.1', kind: 'AUXILIARY', must: [], may: ['objectClasses', 'attributeTypes'] },
];

/** objectClass values of each kind of entry, most general first. */
export const KIND_CLASSES: Record<DirectoryKind, readonly string[]> = {
  person: ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'dmciGalEntry'],
  group: ['top', 'groupOfNames', 'dmciGalEntry'],
  resource: ['top', 'dmciResource', 'dmciGalEntry'],
};

/** The kinds whose objectClass values satisfy a test (names or OIDs, case-insensitively). */
export function kindsWhere(test: (objectClassLowerCase: string) => boolean): DirectoryKind[] {
  return (Object.keys(KIND_CLASSES) as DirectoryKind[]).filter((kind) =>
    KIND_CLASSES[kind].some((name) => {
      const oid = OBJECT_CLASSES.find((c) => c.name === name)?.oid;
      return test(name.toLowerCase()) || (oid !== undefined && test(oid));
    }),
  );
}

/** The `attributeTypes` and `objectClasses` values of cn=Subschema (RFC 4512 §4.1). */
export function subschemaValues(): { attributeTypes: string[]; objectClasses: string[] } {
  const attributeTypes = ATTRIBUTES.map((def) => {
    const names = [def.name, ...(def.aliases ?? [])];
    const nameText = names.length === 1 ? `'${names[0]}'` : `( ${names.map((n) => `'${n}'`).join(' ')} )`;
    const parts = [`( ${def.oid} NAME ${nameText}`];
    if (def.equality) parts.push(`EQUALITY ${def.equality}`);
    if (def.ordering) parts.push(`ORDERING ${def.ordering}`);
    if (def.substr) parts.push(`SUBSTR ${def.substr}`);
    parts.push(`SYNTAX ${def.syntax}`);
    if (def.single) parts.push('SINGLE-VALUE');
    if (def.operational) parts.push('NO-USER-MODIFICATION USAGE directoryOperation');
    return `${parts.join(' ')} )`;
  });
  const objectClasses = OBJECT_CLASSES.map((c) => {
    const parts = [`( ${c.oid} NAME '${c.name}'`];
    if (c.sup && c.name !== 'top') parts.push(`SUP ${c.sup}`);
    parts.push(c.kind);
    if (c.must.length > 0) parts.push(`MUST ${list(c.must)}`);
    if (c.may.length > 0) parts.push(`MAY ${list(c.may)}`);
    return `${parts.join(' ')} )`;
  });
  return { attributeTypes, objectClasses };
}

function list(names: string[]): string {
  return names.length === 1 ? names[0]! : `( ${names.join(' $ ')} )`;
}
