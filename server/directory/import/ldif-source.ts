import type { DirectoryKind } from '../../../protocol/index.ts';
import { normalizeDn, readDn } from './dn.ts';
import { parseLdif, type LdifRecord, type LdifValue } from './ldif-parser.ts';
import type { SourceProblem, SourceReadResult, SourceRecord } from './source-record.ts';

/**
 * Maps LDIF entries (what `dmci export --ldif`, OpenLDAP or Active Directory
 * write) onto GAL entries. An LDIF entry is complete: a mapped attribute
 * that is absent is cleared (so export → import restores the same state).
 * Attributes with no GAL meaning (userPassword, uidNumber, ...) are ignored
 * and listed once in the report.
 *
 * Identity: `mail` (or a `mail=` DN), else a `uid=<dmci entry id>` DN from a
 * dmci export, else the DN itself as the source key.
 */
const TEXT: Record<string, string> = {
  givenname: 'givenName',
  gn: 'givenName',
  sn: 'surname',
  surname: 'surname',
  title: 'title',
  department: 'department',
  departmentnumber: 'department',
  company: 'company',
  o: 'company',
  physicaldeliveryofficename: 'office',
  telephonenumber: 'businessPhone',
  mobile: 'mobilePhone',
  mobiletelephonenumber: 'mobilePhone',
  location: 'location',
  l: 'location',
};
const HANDLED = new Set([
  ...Object.keys(TEXT),
  'objectclass', 'cn', 'commonname', 'displayname', 'mail', 'email', 'rfc822mailbox', 'ou', 'othermailbox', 'mailalternateaddress', 'proxyaddresses',
  'manager', 'member', 'uniquemember', 'jpegphoto', 'thumbnailphoto', 'dmciresourcetype', 'roomcapacity', 'mshideaddresses', 'msexchhidefromaddresslists', 'uid', 'entryuuid',
]);
/** Attributes dmci keeps one value of (cn, mail aliases, proxyAddresses and members keep all). */
const SINGLE = new Set([...Object.keys(TEXT), 'displayname', 'mail', 'email', 'rfc822mailbox', 'manager', 'jpegphoto', 'thumbnailphoto', 'dmciresourcetype', 'roomcapacity']);
const TEXT_COLUMNS = ['givenName', 'surname', 'title', 'department', 'company', 'office', 'businessPhone', 'mobilePhone', 'location'];

export function readLdif(text: string): SourceReadResult {
  const parsed = parseLdif(text);
  const records: SourceRecord[] = [];
  const problems: SourceProblem[] = [...parsed.errors];
  const ignored = new Set<string>();
  if (parsed.records.length === 0 && parsed.errors.length === 0) return { records, problems, fatal: { line: 1, message: 'no LDIF records in the file' } };
  for (const record of parsed.records) {
    for (const [name, values] of record.attributes) {
      if (!HANDLED.has(name)) ignored.add(name);
      else if (SINGLE.has(name) && values.length > 1) ignored.add(`${name} (values after the first)`);
    }
    const mapped = toRecord(record);
    if ('message' in mapped) problems.push(mapped);
    else records.push(mapped);
  }
  problems.sort((a, b) => a.line - b.line);
  return { records, problems, ignored: [...ignored].sort() };
}

function toRecord(entry: LdifRecord): SourceRecord | SourceProblem {
  const line = entry.line;
  const fromDn = readDn(entry.dn);
  const text = (name: string): string | undefined => {
    const value = entry.attributes.get(name)?.[0];
    return value === undefined ? undefined : typeof value === 'string' ? value.trim() : undefined;
  };
  const all = (...names: string[]): LdifValue[] => names.flatMap((n) => entry.attributes.get(n) ?? []);
  const strings = (...names: string[]): string[] => all(...names).filter((v): v is string => typeof v === 'string').map((v) => v.trim()).filter(Boolean);

  const proxies = strings('proxyaddresses');
  const primaryProxy = proxies.find((p) => p.startsWith('SMTP:'))?.slice(5);
  const email = (text('mail') ?? text('email') ?? text('rfc822mailbox') ?? primaryProxy ?? fromDn.email)?.toLowerCase();
  // A DN in the GAL's own form (mail=… or uid=<id>) is not an identity of its own; any other DN is the
  // entry's source key, so that manager and member references by DN find it.
  const galDn = Boolean(fromDn.email || fromDn.entryId);
  const dnKey = normalizeDn(entry.dn);
  const record: SourceRecord = {
    line,
    identity: email ? { email, ...(galDn ? {} : { sourceKey: dnKey }) } : fromDn.entryId ? { entryId: fromDn.entryId, sourceKey: dnKey } : { sourceKey: dnKey },
    ...(fromDn.domain ? { domainHint: fromDn.domain } : {}),
    fields: {},
  };
  if (entry.changetype === 'delete') return { ...record, delete: true };

  const classes = strings('objectclass').map((c) => c.toLowerCase());
  const kind: DirectoryKind = classes.some((c) => ['groupofnames', 'groupofuniquenames', 'group', 'groupofurls'].includes(c))
    ? 'group'
    : classes.some((c) => ['dmciresource', 'calendarresource', 'resource'].includes(c))
      ? 'resource'
      : 'person';
  record.kind = kind;

  const given = text('givenname') ?? text('gn');
  const surname = text('sn') ?? text('surname');
  const commonNames = [...new Set(strings('cn', 'commonname'))];
  const displayName = text('displayname') ?? commonNames[0] ?? ([given, surname].filter(Boolean).join(' ') || undefined);
  if (displayName) record.fields.displayName = displayName;
  // cn is kept as imported, apart from the display name; one cn equal to the display name is just the display name.
  record.fields.commonNames = commonNames.length === 0 || (commonNames.length === 1 && commonNames[0] === displayName) ? null : commonNames;
  if (email) record.fields.email = email;
  if (!galDn) record.fields.sourceKey = dnKey;
  for (const column of TEXT_COLUMNS) record.fields[column] = null;
  for (const [attribute, column] of Object.entries(TEXT)) {
    const value = text(attribute);
    if (value && record.fields[column] === null) record.fields[column] = value;
  }
  // ou is a department only for people (for groups it is often the tree's own unit).
  if (kind === 'person' && record.fields.department === null && text('ou')) record.fields.department = text('ou');

  const aliases = [...strings('othermailbox', 'mailalternateaddress'), ...proxies.filter((p) => /^smtp:/i.test(p)).map((p) => p.slice(5))]
    .map((a) => a.toLowerCase())
    .filter((a) => a !== email);
  record.fields.aliases = [...new Set(aliases)];

  const photo = all('jpegphoto', 'thumbnailphoto')[0];
  record.fields.photo = photo === undefined ? null : typeof photo === 'string' ? Buffer.from(photo, 'latin1') : photo;

  const hidden = text('msexchhidefromaddresslists') ?? text('mshideaddresses');
  if (hidden !== undefined) record.fields.hidden = hidden.toUpperCase() === 'TRUE';

  if (kind === 'resource') {
    const type = text('dmciresourcetype')?.toLowerCase();
    record.fields.resourceType = type ?? null;
    const capacity = text('roomcapacity');
    if (capacity !== undefined && !/^\d{1,7}$/.test(capacity)) return { line, message: `roomCapacity must be a whole number, not ${JSON.stringify(capacity)}` };
    record.fields.capacity = capacity === undefined ? null : Number(capacity);
  }
  if (kind === 'person') record.manager = text('manager') ?? null;
  if (kind === 'group') record.members = strings('member', 'uniquemember');
  return record;
}
