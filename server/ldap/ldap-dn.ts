import { LdapError, ResultCode } from './ldap-result.ts';

/**
 * Distinguished names (RFC 4514) and dmci's directory information tree:
 *
 *   ""                                   root DSE
 *   cn=Subschema                         the subschema entry
 *   ou=gal,dc=example,dc=com             the GAL of domain example.com (a naming context)
 *   mail=alice@example.com,ou=gal,...    an entry with an email address
 *   uid=<entry uuid>,ou=gal,...          an entry without one
 *
 * The entries sit flat under their domain's base. `mail=` keeps DNs
 * readable and lets a person's bind DN be guessed from their address; the
 * uuid keeps entries without an address addressable. We parse DNs ourselves
 * (ldapjs hands us its own re-serialised form) so that this module, like the
 * rest of ldap/, is testable without ldapjs.
 */
export interface Ava {
  /** Attribute type, lower-cased. */
  type: string;
  value: string;
}
export type Rdn = Ava[];

export const SUBSCHEMA_DN = 'cn=Subschema';
export const GAL_OU = 'gal';

/** Parses an RFC 4514 string DN (leniently: spaces around separators, as RFC 2253 clients send). */
export function parseDn(text: string): Rdn[] {
  const rdns: Rdn[] = [];
  let i = 0;
  const n = text.length;
  const fail = (why: string): never => {
    throw new LdapError(ResultCode.invalidDNSyntax, `invalid DN ${JSON.stringify(text.slice(0, 200))}: ${why}`);
  };
  const skipSpaces = () => {
    while (i < n && text[i] === ' ') i++;
  };
  skipSpaces();
  if (i === n) return rdns;
  let rdn: Rdn = [];
  for (;;) {
    skipSpaces();
    const typeStart = i;
    while (i < n && /[A-Za-z0-9.-]/.test(text[i]!)) i++;
    let type = text.slice(typeStart, i);
    if (/^oid\./i.test(type)) type = type.slice(4);
    if (!/^([A-Za-z][A-Za-z0-9-]*|\d+(\.\d+)*)$/.test(type)) fail('bad attribute type');
    skipSpaces();
    if (text[i] !== '=') fail(`expected "=" after ${type}`);
    i++;
    skipSpaces();
    const bytes: number[] = [];
    if (text[i] === '#') {
      // A hex-encoded BER value; we only ever need its string content.
      i++;
      const start = i;
      while (i < n && /[0-9A-Fa-f]/.test(text[i]!)) i++;
      const hex = text.slice(start, i);
      if (hex.length === 0 || hex.length % 2 !== 0) fail('bad hex value');
      bytes.push(...berStringContent(Buffer.from(hex, 'hex')));
      skipSpaces();
    } else {
      let trailingSpaces = 0;
      while (i < n) {
        const c = text[i]!;
        if (c === ',' || c === ';' || c === '+') break;
        if (c === '\\') {
          const next = text[i + 1];
          if (next === undefined) fail('trailing backslash');
          if (/^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
            bytes.push(parseInt(text.slice(i + 1, i + 3), 16));
            i += 3;
          } else if (' "#+,;<=>\\'.includes(next!)) {
            bytes.push(next!.charCodeAt(0));
            i += 2;
          } else {
            fail(`bad escape \\${next}`);
          }
          trailingSpaces = 0;
          continue;
        }
        if (c === '"' || c === '<' || c === '>' || c === '\0') fail(`unescaped ${JSON.stringify(c)}`);
        const width = isHighSurrogate(c) ? 2 : 1;
        bytes.push(...Buffer.from(text.slice(i, i + width)));
        i += width;
        trailingSpaces = c === ' ' ? trailingSpaces + 1 : 0;
      }
      // Unescaped trailing spaces are not part of the value (RFC 4514 §3).
      if (trailingSpaces > 0) bytes.splice(bytes.length - trailingSpaces, trailingSpaces);
    }
    rdn.push({ type: type.toLowerCase(), value: Buffer.from(bytes).toString('utf8') });
    if (i === n) {
      rdns.push(rdn);
      return rdns;
    }
    const separator = text[i]!;
    i++;
    if (separator !== '+') {
      rdns.push(rdn);
      rdn = [];
      skipSpaces();
      if (i === n) fail('empty RDN at the end');
    }
  }
}

/** RFC 4514 §2.4 escaping of one attribute value. */
export function escapeDnValue(value: string): string {
  let out = '';
  for (let k = 0; k < value.length; k++) {
    const c = value[k]!;
    if ('\\,+"<>;='.includes(c)) out += `\\${c}`;
    else if (c === '\0') out += '\\00';
    else if ((k === 0 && (c === ' ' || c === '#')) || (k === value.length - 1 && c === ' ')) out += `\\${c}`;
    else out += c;
  }
  return out;
}

export function formatDn(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map((ava) => `${ava.type}=${escapeDnValue(ava.value)}`).join('+')).join(',');
}

/** Case-insensitive comparison key: dmci's naming attributes all match case-insensitively. */
export function normaliseDn(rdns: Rdn[]): string {
  return formatDn(rdns.map((rdn) => rdn.map((ava) => ({ type: ava.type, value: ava.value.toLowerCase() })).sort((a, b) => (a.type < b.type ? -1 : 1))));
}

/** `example.com` → `ou=gal,dc=example,dc=com`. */
export function galBaseDn(domain: string): string {
  return formatDn([[{ type: 'ou', value: GAL_OU }], ...domain.split('.').map((label) => [{ type: 'dc', value: label }])]);
}

/** The DN of a directory entry: by address when it has one, else by id. */
export function entryDn(domain: string, entry: { email: string | null; id: string }): string {
  const rdn = entry.email ? { type: 'mail', value: entry.email } : { type: 'uid', value: entry.id };
  return `${formatDn([[rdn]])},${galBaseDn(domain)}`;
}

export type DnLocation =
  | { kind: 'root' }
  | { kind: 'subschema' }
  | { kind: 'base'; domain: string }
  | { kind: 'entry'; domain: string; by: 'mail' | 'uid'; value: string }
  /** Not in dmci's tree. `domain` is set when the DN lies below a GAL base (so the base is the matched DN if it exists). */
  | { kind: 'outside'; domain?: string };

/** Where a parsed DN falls in dmci's tree. */
export function locateDn(rdns: Rdn[]): DnLocation {
  if (rdns.length === 0) return { kind: 'root' };
  if (rdns.length === 1 && isSingle(rdns[0]!, 'cn') && rdns[0]![0]!.value.toLowerCase() === 'subschema') return { kind: 'subschema' };
  // Find the `ou=gal` followed only by dc= components.
  for (let k = 0; k < rdns.length; k++) {
    const rdn = rdns[k]!;
    if (!isSingle(rdn, 'ou') || rdn[0]!.value.toLowerCase() !== GAL_OU) continue;
    const rest = rdns.slice(k + 1);
    if (rest.length === 0 || !rest.every((r) => isSingle(r, 'dc') && /^[a-z0-9-]+$/i.test(r[0]!.value))) continue;
    const domain = rest.map((r) => r[0]!.value.toLowerCase()).join('.');
    if (k === 0) return { kind: 'base', domain };
    if (k === 1) {
      const entryRdn = rdns[0]!;
      if (isSingle(entryRdn, 'mail')) return { kind: 'entry', domain, by: 'mail', value: entryRdn[0]!.value.toLowerCase() };
      if (isSingle(entryRdn, 'uid')) return { kind: 'entry', domain, by: 'uid', value: entryRdn[0]!.value.toLowerCase() };
    }
    return { kind: 'outside', domain };
  }
  return { kind: 'outside' };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export function isUuid(text: string): boolean {
  return UUID.test(text);
}

function isSingle(rdn: Rdn, type: string): boolean {
  return rdn.length === 1 && rdn[0]!.type === type;
}

function isHighSurrogate(c: string): boolean {
  const code = c.charCodeAt(0);
  return code >= 0xd800 && code <= 0xdbff;
}

/** The content octets of a BER OCTET/UTF8/IA5 STRING (tag, short or long length); anything else as-is. */
function berStringContent(ber: Buffer): Buffer {
  if (ber.length < 2 || ![0x04, 0x0c, 0x13, 0x16].includes(ber[0]!)) return ber;
  let length = ber[1]!;
  let offset = 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || ber.length < 2 + octets) return ber;
    length = 0;
    for (let k = 0; k < octets; k++) length = (length << 8) | ber[2 + k]!;
    offset = 2 + octets;
  }
  return ber.subarray(offset, offset + length);
}
