import type { DirectoryEntryRow } from '../directory/directory.table.ts';
import { proxyAddresses } from '../directory/search/search-terms.ts';
import { wantsAttribute, type AttributeSelection } from './ldap-attributes.ts';
import { entryDn, SUBSCHEMA_DN } from './ldap-dn.ts';
import { ATTRIBUTES, KIND_CLASSES, type AttributeDef } from './ldap-schema.ts';

/** One search result entry, ready for the wire (ldap-server.ts turns it into an ldapjs SearchEntry). */
export interface LdapEntry {
  dn: string;
  attributes: Array<{ type: string; values: Array<string | Buffer> }>;
}

/** An entry already in BER (from the door's index, ldap-index.ts): only the message id is left to fill in. */
export interface PreEncodedEntry {
  readonly id: string;
  /** Bytes of its SearchResultEntry message with this message id. */
  size(messageId: number): number;
  /** Writes that message at `at`; returns where it ends. */
  writeInto(out: Buffer, at: number, messageId: number): number;
}

/** What a search hands to the wire: an entry to encode, or one already encoded. */
export type OutgoingEntry = LdapEntry | PreEncodedEntry;

/** A directory row as ldap-search.repository.ts reads it for LDAP: the table's columns, plus what joins add. */
export type GalRow = Pick<
  DirectoryEntryRow,
  | 'id'
  | 'kind'
  | 'email'
  | 'display_name'
  | 'common_names'
  | 'given_name'
  | 'surname'
  | 'title'
  | 'department'
  | 'company'
  | 'office'
  | 'business_phone'
  | 'mobile_phone'
  | 'resource_type'
  | 'capacity'
  | 'location'
  | 'created_at'
  | 'updated_at'
  | 'photo_type'
  | 'manager_id'
> & {
  /** Only read when a photo attribute is wanted. */
  photo?: Buffer | null;
  /** The manager when it is visible; a hidden manager is no manager. */
  manager_email: string | null;
  /** Only read when wanted. */
  aliases?: string[] | null;
  /** Visible members as [email, id] pairs; only read when wanted. */
  members?: Array<[string | null, string]> | null;
};

const DEF_BY_NAME = new Map(ATTRIBUTES.map((def) => [def.name, def]));

/** Which costly parts of a row a selection needs, so the query reads nothing else. */
export function rowNeeds(selection: AttributeSelection): { aliases: boolean; members: boolean; photo: boolean } {
  const wants = (name: string) => wantsAttribute(selection, DEF_BY_NAME.get(name)!);
  return {
    aliases: wants('otherMailbox') || wants('proxyAddresses'),
    members: wants('member'),
    photo: wants('jpegPhoto') || wants('thumbnailPhoto'),
  };
}

export function galEntry(row: GalRow, domain: string, selection: AttributeSelection, typesOnly: boolean): LdapEntry {
  const dn = entryDn(domain, row);
  const attributes: LdapEntry['attributes'] = [];
  for (const def of ATTRIBUTES) {
    if (!wantsAttribute(selection, def)) continue;
    const values = valuesOf(def, row, domain, dn);
    if (values.length === 0) continue;
    attributes.push({ type: def.name, values: typesOnly ? [] : values });
  }
  return { dn, attributes };
}

function valuesOf(def: AttributeDef, row: GalRow, domain: string, dn: string): Array<string | Buffer> {
  const source = def.source;
  switch (source.kind) {
    case 'text': {
      const value = row[source.column];
      return value ? [value] : [];
    }
    case 'commonName':
      return row.common_names?.length ? row.common_names : [row.display_name];
    case 'integer': {
      const value = row[source.column];
      return value === null ? [] : [String(value)];
    }
    case 'objectClass':
      return [...KIND_CLASSES[row.kind]];
    case 'aliases':
      return row.aliases ?? [];
    case 'proxyAddresses':
      return proxyAddresses(row.email, row.aliases ?? []);
    case 'members':
      return row.kind === 'group' ? (row.members ?? []).map(([email, id]) => entryDn(domain, { email, id })) : [];
    case 'manager':
      return row.manager_id ? [entryDn(domain, { email: row.manager_email, id: row.manager_id })] : [];
    case 'photo':
      if (!row.photo || (source.jpegOnly && row.photo_type !== 'image/jpeg')) return [];
      return [row.photo];
    case 'id':
      return [row.id];
    case 'timestamp':
      return [generalizedTime(row[source.column])];
    case 'computed':
      if (source.what === 'entryDN') return [dn];
      if (source.what === 'subschemaSubentry') return [SUBSCHEMA_DN];
      return ['FALSE'];
  }
}

/** RFC 4517 §3.3.13 GeneralizedTime in UTC: 20261121081500Z. */
export function generalizedTime(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}

/** Parses the GeneralizedTime forms clients send in filters; undefined when it is not one. */
export function parseGeneralizedTime(text: string): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,]\d+)?(Z|[+-]\d{2}(\d{2})?)$/.exec(text);
  if (!match) return undefined;
  const [, y, mo, d, h, mi = '00', s = '00', zone] = match;
  const offset = zone === 'Z' ? 'Z' : `${zone!.slice(0, 3)}:${zone!.slice(3, 5) || '00'}`;
  const date = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
