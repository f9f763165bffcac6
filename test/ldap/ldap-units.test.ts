import ldap from 'ldapjs';
import { describe, expect, it } from 'vitest';
import { parseAttributeSelection, wantsAttribute } from '../../server/ldap/ldap-attributes.ts';
import { encodeSearchEntry } from '../../server/ldap/ldap-ber.ts';
import { loginOf } from '../../server/ldap/ldap-bind.ts';
import { entryDn, escapeDnValue, formatDn, galBaseDn, locateDn, normaliseDn, parseDn } from '../../server/ldap/ldap-dn.ts';
import { generalizedTime, parseGeneralizedTime } from '../../server/ldap/ldap-entry.ts';
import { filterStatement, likePattern } from '../../server/ldap/ldap-filter-sql.ts';
import { checkFilterLimits, filterDepth, filterToString, type FilterNode } from '../../server/ldap/ldap-filter.ts';
import { MessageSplitter } from '../../server/ldap/ldap-framing.ts';
import { matchesEntry, syntheticEntry } from '../../server/ldap/ldap-match.ts';
import { decodeCookie, encodeCookie, searchFingerprint } from '../../server/ldap/ldap-paging.ts';
import { LdapError } from '../../server/ldap/ldap-result.ts';
import { kindsWhere, lookupAttribute, subschemaValues } from '../../server/ldap/ldap-schema.ts';
import { filterNode } from '../helpers/ldap.ts';

/** The LDAP door's pure modules: no server, no database. */

describe('DNs', () => {
  it('parses RFC 4514 DNs with escapes, hex values, multi-valued RDNs and lenient spaces', () => {
    expect(parseDn('')).toEqual([]);
    expect(parseDn('cn=Doe\\, John,ou=gal')).toEqual([[{ type: 'cn', value: 'Doe, John' }], [{ type: 'ou', value: 'gal' }]]);
    expect(parseDn('CN=Zo\\c3\\ab + UID=7, OU=Gal')).toEqual([
      [
        { type: 'cn', value: 'Zoë' },
        { type: 'uid', value: '7' },
      ],
      [{ type: 'ou', value: 'Gal' }],
    ]);
    expect(parseDn('cn=#04024869')).toEqual([[{ type: 'cn', value: 'Hi' }]]);
    expect(parseDn('cn=\\ lead and trail\\ ')).toEqual([[{ type: 'cn', value: ' lead and trail ' }]]);
    expect(parseDn('cn=🦄')).toEqual([[{ type: 'cn', value: '🦄' }]]);
  });

  it('rejects malformed DNs with invalidDNSyntax', () => {
    for (const bad of ['bad', 'cn=a,', '=x', 'cn=a\\', 'cn=a\\zz', 'cn=a"b', '1cn=x']) {
      expect(() => parseDn(bad), bad).toThrow(LdapError);
    }
  });

  it('formats and escapes round-trip', () => {
    for (const value of ['a,b', ' x', 'x ', '#x', 'a+b=c;d<e>f"g\\h', 'plain']) {
      const dn = formatDn([[{ type: 'cn', value }]]);
      expect(parseDn(dn)[0]![0]!.value).toBe(value);
    }
    expect(escapeDnValue('a,b')).toBe('a\\,b');
  });

  it('maps domains and entries into the tree', () => {
    expect(galBaseDn('example.com')).toBe('ou=gal,dc=example,dc=com');
    expect(entryDn('example.com', { email: 'a@example.com', id: 'x' })).toBe('mail=a@example.com,ou=gal,dc=example,dc=com');
    expect(entryDn('example.com', { email: null, id: '0f0f' })).toBe('uid=0f0f,ou=gal,dc=example,dc=com');
    expect(locateDn(parseDn(''))).toEqual({ kind: 'root' });
    expect(locateDn(parseDn('CN=subschema'))).toEqual({ kind: 'subschema' });
    expect(locateDn(parseDn('OU=GAL,DC=Example,DC=Com'))).toEqual({ kind: 'base', domain: 'example.com' });
    expect(locateDn(parseDn('mail=A@Example.com,ou=gal,dc=example,dc=com'))).toEqual({ kind: 'entry', domain: 'example.com', by: 'mail', value: 'a@example.com' });
    expect(locateDn(parseDn('cn=x,mail=a@example.com,ou=gal,dc=example,dc=com'))).toEqual({ kind: 'outside', domain: 'example.com' });
    expect(locateDn(parseDn('dc=example,dc=com'))).toEqual({ kind: 'outside' });
    expect(normaliseDn(parseDn('OU=Gal, DC=Example'))).toBe(normaliseDn(parseDn('ou=gal,dc=example')));
  });

  it('accepts bind names that stand for an account', () => {
    expect(loginOf('mail=alice@example.com,ou=gal,dc=example,dc=com')).toBe('alice@example.com');
    expect(loginOf('mail=alice@example.com')).toBe('alice@example.com');
    expect(loginOf('uid=Alice@Example.com')).toBe('alice@example.com');
    expect(loginOf('mail=alice@example.com,ou=gal,dc=other,dc=com')).toBeUndefined();
    expect(loginOf('cn=Alice,ou=people')).toBeUndefined();
    expect(loginOf('uid=alice')).toBeUndefined();
    expect(loginOf('not a dn')).toBeUndefined();
  });
});

describe('filters', () => {
  const parse = (text: string): FilterNode => filterNode(text);

  it('marks only ORs of index ranges (exact values, literal prefixes) as planned once for every value', () => {
    const context = { domainId: '00000000-0000-4000-8000-000000000000', domain: 'example.com' };
    const generic = (text: string) => filterStatement(parse(text), context).genericPlan;
    expect(generic('(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))')).toBe(true);
    expect(generic('(mail=Ann@Example.com)')).toBe(true);
    expect(generic('(|(cn=Vác*)(uid=x))')).toBe(true); // an entryUUID that is no UUID is FALSE: dropped from the OR
    expect(generic('(|(cn=ab*)(title=*))')).toBe(false); // presence is a test per entry, not a range
    expect(generic('(mail=*ab*)')).toBe(false);
    expect(generic('(cn=ab*cd)')).toBe(false);
    expect(generic('(cn~=anna)')).toBe(false);
    expect(generic('(&(ou=Dept 1*)(cn=ab*))')).toBe(false);
    expect(generic('(!(cn=ab*))')).toBe(false);
  });

  it('converts ldapjs filter objects into the FilterNode tree', () => {
    expect(parse('(|(cn=ab*)(!(sn>=x))(mail~=y)(o<=z)(title=*))')).toEqual({
      type: 'or',
      children: [
        { type: 'substrings', attribute: 'cn', initial: 'ab', any: [] },
        { type: 'not', child: { type: 'gte', attribute: 'sn', value: 'x' } },
        { type: 'approx', attribute: 'mail', value: 'y' },
        { type: 'lte', attribute: 'o', value: 'z' },
        { type: 'present', attribute: 'title' },
      ],
    });
    expect(parse('(cn=*a*b*c)')).toEqual({ type: 'substrings', attribute: 'cn', any: ['a', 'b'], final: 'c' });
    expect(parse('(sn:=x)')).toEqual({ type: 'equality', attribute: 'sn', value: 'x' });
    expect(parse('(sn:1.2.3:=x)')).toMatchObject({ type: 'undefined' });
  });

  it('measures depth iteratively and refuses deep filters with adminLimitExceeded', () => {
    let node: FilterNode = { type: 'present', attribute: 'cn' };
    for (let k = 0; k < 100_000; k++) node = { type: 'not', child: node };
    expect(filterDepth(node)).toBe(100_001);
    expect(() => checkFilterLimits(node, { maxDepth: 16 })).toThrow(/nests 100001 levels deep; the limit is 16/);
    expect(() => checkFilterLimits({ type: 'and', children: [{ type: 'present', attribute: 'cn' }] }, { maxDepth: 2 })).not.toThrow();
  });

  it('prints RFC 4515 strings with escapes', () => {
    expect(filterToString({ type: 'and', children: [{ type: 'equality', attribute: 'cn', value: 'a*(b)\\' }, { type: 'substrings', attribute: 'sn', initial: 'x', any: ['y'], final: 'z' }] })).toBe(
      '(&(cn=a\\2a\\28b\\29\\5c)(sn=x*y*z))',
    );
  });

  it('builds LIKE patterns with LIKE metacharacters escaped', () => {
    expect(likePattern({ initial: 'a%b_c\\', any: [], final: undefined })).toBe('a\\%b\\_c\\\\%');
    expect(likePattern({ any: ['x'], final: 'y' })).toBe('%x%y');
  });

  it('matches synthetic entries with three-valued logic', () => {
    const entry = syntheticEntry({ objectClass: ['top', 'organizationalUnit'], ou: ['gal'] });
    const eq = (attribute: string, value: string): FilterNode => ({ type: 'equality', attribute, value });
    expect(matchesEntry(eq('objectclass', 'ORGANIZATIONALUNIT'), entry)).toBe(true);
    // A known attribute the entry lacks is FALSE; an unknown one Undefined, and NOT Undefined is Undefined.
    expect(matchesEntry({ type: 'not', child: eq('title', 'x') }, entry)).toBe(true);
    expect(matchesEntry({ type: 'not', child: eq('noSuchAttribute', 'x') }, entry)).toBe(false);
    expect(matchesEntry({ type: 'not', child: eq('ou', 'x') }, entry)).toBe(true);
    expect(matchesEntry({ type: 'or', children: [eq('title', 'x'), eq('ou', 'GAL')] }, entry)).toBe(true);
    expect(matchesEntry({ type: 'substrings', attribute: 'organizationalUnitName', initial: 'g', any: ['a'], final: 'l' }, entry)).toBe(true);
    expect(matchesEntry({ type: 'substrings', attribute: 'ou', initial: 'ga', any: [], final: 'al' }, entry)).toBe(false);
  });

  it('maps objectClass assertions to kinds of entries', () => {
    expect(kindsWhere((name) => name === 'person')).toEqual(['person']);
    expect(kindsWhere((name) => name === 'top').sort()).toEqual(['group', 'person', 'resource']);
    expect(kindsWhere((name) => name === '2.5.6.9')).toEqual(['group']);
  });
});

describe('attributes and schema', () => {
  it('looks names up case-insensitively, by alias and OID, ignoring options', () => {
    expect(lookupAttribute('GIVENNAME')?.name).toBe('givenName');
    expect(lookupAttribute('surname')?.name).toBe('sn');
    expect(lookupAttribute('2.5.4.3')?.name).toBe('cn');
    expect(lookupAttribute('jpegPhoto;binary')?.name).toBe('jpegPhoto');
    expect(lookupAttribute('nonsense')).toBeUndefined();
  });

  it('reads requested attribute lists per RFC 4511 and RFC 3673', () => {
    const cn = lookupAttribute('cn')!;
    const uuid = lookupAttribute('entryUUID')!;
    expect(wantsAttribute(parseAttributeSelection([]), cn)).toBe(true);
    expect(wantsAttribute(parseAttributeSelection([]), uuid)).toBe(false);
    expect(wantsAttribute(parseAttributeSelection(['1.1']), cn)).toBe(false);
    expect(wantsAttribute(parseAttributeSelection(['+']), uuid)).toBe(true);
    expect(wantsAttribute(parseAttributeSelection(['+']), cn)).toBe(false);
    expect(wantsAttribute(parseAttributeSelection(['CN', '1.1']), cn)).toBe(true);
    expect(wantsAttribute(parseAttributeSelection(['entryuuid']), uuid)).toBe(true);
  });

  it('writes the subschema in RFC 4512 syntax', () => {
    const { attributeTypes, objectClasses } = subschemaValues();
    // No ORDERING on names (as in RFC 4519 and slapd's core schema): (sn<=X) is Undefined.
    expect(attributeTypes).toContain("( 2.5.4.4 NAME ( 'sn' 'surname' ) EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )");
    expect(attributeTypes).toContain("( 2.5.18.1 NAME 'createTimestamp' EQUALITY generalizedTimeMatch ORDERING generalizedTimeOrderingMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.24 SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )");
    expect(objectClasses).toContain("( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) MAY ( o $ ou $ mail $ displayName ) )");
    for (const value of [...attributeTypes, ...objectClasses]) expect(value).toMatch(/^\( [\d.]+ NAME .* \)$/);
  });

  it('writes and reads GeneralizedTime', () => {
    expect(generalizedTime(new Date('2026-11-21T08:15:30.123Z'))).toBe('20261121081530Z');
    expect(parseGeneralizedTime('20261121081530Z')?.toISOString()).toBe('2026-11-21T08:15:30.000Z');
    expect(parseGeneralizedTime('202611210815+0100')?.toISOString()).toBe('2026-11-21T07:15:00.000Z');
    expect(parseGeneralizedTime('yesterday')).toBeUndefined();
  });
});

describe('paging cookies', () => {
  const fingerprint = searchFingerprint({ who: 'a', base: 'ou=gal,dc=x', scope: 'sub', filter: '(cn=*)', attributes: ['cn'], typesOnly: false, sizeLimit: 0 });

  it('round-trips a cursor', () => {
    const cursor = { after: { id: '0b4a2b6e-1111-4222-8333-944445555666' }, sent: 10 };
    expect(decodeCookie(encodeCookie(fingerprint, cursor), fingerprint)).toEqual(cursor);
    expect(decodeCookie(encodeCookie(fingerprint, { sent: 1 }), fingerprint)).toEqual({ sent: 1 });
  });

  it('refuses cookies of other searches and garbage with unwillingToPerform', () => {
    const other = searchFingerprint({ who: 'a', base: 'ou=gal,dc=x', scope: 'sub', filter: '(cn=a*)', attributes: ['cn'], typesOnly: false, sizeLimit: 0 });
    expect(() => decodeCookie(encodeCookie(other, { sent: 1 }), fingerprint)).toThrow(/different search/);
    const v1 = JSON.stringify({ v: 1, f: fingerprint, s: 1, n: 'bob brown', i: '0b4a2b6e-1111-4222-8333-944445555666' }); // name order, before entries came in id order
    for (const bad of ['', 'x', '{}', '{"v":2}', v1, JSON.stringify({ v: 2, f: fingerprint, s: -1 }), JSON.stringify({ v: 2, f: fingerprint, s: 1, i: "1' or 1=1" })]) {
      expect(() => decodeCookie(Buffer.from(bad), fingerprint), bad).toThrow(LdapError);
    }
  });
});

describe('message framing', () => {
  const message = (body: number[]) => Buffer.from([0x30, body.length, ...body]);

  it('hands over whole messages however the stream is cut', () => {
    const a = message([0x02, 0x01, 0x01, 0x42, 0x00]);
    const b = message([0x02, 0x01, 0x02, 0x42, 0x00]);
    const splitter = new MessageSplitter(1024);
    const stream = Buffer.concat([a, b]);
    const out: Buffer[] = [];
    for (let k = 0; k < stream.length; k++) out.push(...splitter.push(stream.subarray(k, k + 1)));
    expect(out).toEqual([a, b]);
    expect(new MessageSplitter(1024).push(Buffer.concat([a, b, a]))).toEqual([a, b, a]);
  });

  it('reads long-form lengths and refuses oversized and non-LDAP streams', () => {
    const long = Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(256)]);
    expect(new MessageSplitter(1024).push(long)).toEqual([long]);
    expect(() => new MessageSplitter(100).push(long)).toThrow(/larger than 100/);
    expect(() => new MessageSplitter(1024).push(Buffer.from('GET /'))).toThrow(/not an LDAP message/);
    expect(() => new MessageSplitter(1024).push(Buffer.from([0x30, 0x80]))).toThrow(/invalid BER length/);
  });
});

describe('entry encoding', () => {
  it('writes the same bytes as ldapjs', () => {
    const lib = ldap as unknown as {
      SearchEntry: new (options: { messageId: number; objectName: string; attributes: unknown[] }) => { toBer(): { buffer: Buffer } };
      Attribute: new (options: { type: string; values: Array<string | Buffer> }) => unknown;
    };
    const cases = [
      { dn: 'mail=a@example.com,ou=gal,dc=example,dc=com', attributes: [{ type: 'cn', values: ['Zoë 🦄'] }, { type: 'objectClass', values: ['top', 'person'] }] },
      { dn: 'uid=1,ou=gal,dc=x', attributes: [{ type: 'jpegPhoto', values: [Buffer.alloc(300, 7)] }, { type: 'sn', values: [] }] },
      { dn: 'mail=big@x,ou=gal,dc=x', attributes: [{ type: 'thumbnailPhoto', values: [Buffer.alloc(70_000, 1)] }] },
      { dn: 'cn=x', attributes: [] },
    ];
    for (const messageId of [1, 127, 128, 255, 256, 65_535, 2 ** 31 - 1]) {
      for (const entry of cases) {
        const theirs = new lib.SearchEntry({ messageId, objectName: entry.dn, attributes: entry.attributes.map((a) => new lib.Attribute(a)) }).toBer().buffer;
        expect(encodeSearchEntry(messageId, entry).equals(theirs), `${messageId} ${entry.dn}`).toBe(true);
      }
    }
  });
});
