import { createRequire } from 'node:module';
import ldap from 'ldapjs';
import { describe, expect, it } from 'vitest';
import { ANSWER_FLUSH_BYTES, encodeOutgoing, FIRST_WRITE_ENTRIES, SearchAnswer } from '../../server/ldap/ldap-answer.ts';
import { encodeSearchDone } from '../../server/ldap/ldap-ber.ts';
import type { LdapEntry } from '../../server/ldap/ldap-entry.ts';
import { PAGED_RESULTS_OID } from '../../server/ldap/ldap-paging.ts';
import { decodeSearchRequest, MAX_DECODED_FILTER_DEPTH, peekMessage, SEARCH_REQUEST_TAG } from '../../server/ldap/ldap-request.ts';
import { ResultCode } from '../../server/ldap/ldap-result.ts';
import { pagedControl } from '../helpers/ldap.ts';

/**
 * The door's own SearchRequest decoder (ldap-request.ts) against what a real
 * client library encodes, and against bytes no client would send: every
 * message decodes to a request or to a clear result, never an exception.
 */

type Control = ldap.Control;
const criticalControl = (type: string) =>
  new (ldap as unknown as { Control: new (options: { type: string; criticality: boolean }) => Control }).Control({ type, criticality: true });

function searchMessage(options: { filter: string; base?: string; scope?: 'base' | 'one' | 'sub'; attributes?: string[]; sizeLimit?: number; timeLimit?: number; typesOnly?: boolean; controls?: Control[]; messageId?: number }): Buffer {
  const request = new (ldap as unknown as { SearchRequest: new (options: unknown) => unknown }).SearchRequest({
    messageId: options.messageId ?? 7,
    baseObject: options.base ?? 'ou=gal,dc=example,dc=com',
    scope: options.scope ?? 'one',
    sizeLimit: options.sizeLimit ?? 0,
    timeLimit: options.timeLimit ?? 0,
    typesOnly: options.typesOnly ?? false,
    filter: ldap.parseFilter(options.filter),
    attributes: options.attributes ?? [],
    controls: options.controls ?? [],
  } as never) as unknown as { toBer(): { buffer: Buffer } };
  return request.toBer().buffer;
}

// ldapjs's own message parser and BER reader (its dependencies), to read back what the door writes.
const requireFromLdapjs = createRequire(createRequire(import.meta.url).resolve('ldapjs'));
const ldapMessages = requireFromLdapjs('@ldapjs/messages') as {
  LdapMessage: { parse(reader: unknown): { constructor: { name: string }; messageId: number; status: number; matchedDN: string; diagnosticMessage: string; controls: Array<{ type: string; value: unknown }> } };
};
const asn1 = requireFromLdapjs('@ldapjs/asn1') as { BerReader: new (buffer: Buffer) => unknown };

const decode = (message: Buffer, maxFilterBytes = 4096) => decodeSearchRequest(message, maxFilterBytes);

describe('decoding a SearchRequest', () => {
  it('reads every field a client sends, the paged results control included', () => {
    const cookie = Buffer.from([1, 2, 3]);
    const message = searchMessage({ filter: '(cn=ab*)', scope: 'sub', attributes: ['cn', 'mail', '1.1', '*', '+'], sizeLimit: 50, timeLimit: 3, typesOnly: true, controls: [pagedControl(5, cookie)], messageId: 300 });
    expect(peekMessage(message)).toEqual({ messageId: 300, opTag: SEARCH_REQUEST_TAG });
    expect(decode(message)).toEqual({
      messageId: 300,
      request: {
        base: 'ou=gal,dc=example,dc=com',
        scope: 'sub',
        filter: { type: 'substrings', attribute: 'cn', initial: 'ab', any: [] },
        attributes: ['cn', 'mail', '1.1', '*', '+'],
        typesOnly: true,
        sizeLimit: 50,
        timeLimitSeconds: 3,
        paged: { size: 5, cookie },
      },
    });
  });

  it('turns every filter item into dmci’s FilterNode, values as UTF-8 (non-BMP characters, bytes a filter string escapes)', () => {
    const cases: Array<[string, unknown]> = [
      ['(&(objectClass=person)(!(sn=Fourier)))', { type: 'and', children: [{ type: 'equality', attribute: 'objectClass', value: 'person' }, { type: 'not', child: { type: 'equality', attribute: 'sn', value: 'Fourier' } }] }],
      ['(|(givenName~=Jon)(title>=A)(title<=B))', { type: 'or', children: [{ type: 'approx', attribute: 'givenName', value: 'Jon' }, { type: 'gte', attribute: 'title', value: 'A' }, { type: 'lte', attribute: 'title', value: 'B' }] }],
      ['(cn=*ac*lav)', { type: 'substrings', attribute: 'cn', any: ['ac'], final: 'lav' }],
      ['(cn=Va*c*l*)', { type: 'substrings', attribute: 'cn', initial: 'Va', any: ['c', 'l'] }],
      ['(mail=*)', { type: 'present', attribute: 'mail' }],
      ['(cn:=Lena)', { type: 'equality', attribute: 'cn', value: 'Lena' }],
      ['(cn:caseIgnoreMatch:=Lena)', { type: 'equality', attribute: 'cn', value: 'Lena' }],
      ['(cn:1.2.3:=x)', { type: 'undefined', description: 'cn:1.2.3:=' }],
      ['(cn:dn:=x)', { type: 'undefined', description: 'cn::=' }],
    ];
    for (const [text, expected] of cases) expect(decode(searchMessage({ filter: text })).request?.filter, text).toEqual(expected);
    // Substrings with non-ASCII parts, encoded by hand: ldapjs's client sends them escaped as text ("V\\c3\\a1").
    const tlv = (tag: number, contents: Buffer) => Buffer.concat([Buffer.from([tag, contents.length]), contents]);
    const substrings = tlv(0xa4, Buffer.concat([tlv(0x04, Buffer.from('cn')), tlv(0x30, Buffer.concat([tlv(0x80, Buffer.from('Vá')), tlv(0x81, Buffer.from('𠀀')), tlv(0x82, Buffer.from('ľa'))]))]));
    const message = searchMessage({ filter: '(cn=x)' });
    const filterAt = message.indexOf(Buffer.from([0xa3, 0x07]));
    // 30 len 02 01 07 63 len: the request's contents start at 7; the filter (a3 07 …) is 9 bytes.
    const body = Buffer.concat([message.subarray(7, filterAt), substrings, message.subarray(filterAt + 9)]);
    const op = tlv(0x63, body);
    const rebuilt = tlv(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x07]), op]));
    expect(decode(rebuilt).request?.filter).toEqual({ type: 'substrings', attribute: 'cn', initial: 'Vá', any: ['𠀀'], final: 'ľa' });
    const equality = tlv(0xa3, Buffer.concat([tlv(0x04, Buffer.from('cn')), tlv(0x04, Buffer.from('a*b\\(😀)'))]));
    const withEquality = tlv(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x07]), tlv(0x63, Buffer.concat([message.subarray(7, filterAt), equality, message.subarray(filterAt + 9)]))]));
    expect(decode(withEquality).request?.filter).toEqual({ type: 'equality', attribute: 'cn', value: 'a*b\\(😀)' });
  });

  it('answers bad requests with a result code, not an exception', () => {
    // A SearchRequest body with a chosen scope and filter bytes (hand-made: no client sends these).
    const raw = (scope: number, filter: Buffer, tail = Buffer.from([0x30, 0x00])) => {
      const body = Buffer.concat([Buffer.from([0x04, 0x00, 0x0a, 0x01, scope, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00]), filter, tail]);
      const op = Buffer.concat([Buffer.from([0x63, 0x82, body.length >> 8, body.length & 0xff]), body]);
      const message = Buffer.concat([Buffer.from([0x02, 0x01, 0x09]), op]);
      return Buffer.concat([Buffer.from([0x30, 0x82, message.length >> 8, message.length & 0xff]), message]);
    };
    const present = Buffer.concat([Buffer.from([0x87, 0x02]), Buffer.from('cn')]);
    const code = (message: Buffer, maxFilterBytes?: number) => decode(message, maxFilterBytes).problem?.code;
    expect(code(raw(0, present))).toBeUndefined();
    expect(code(raw(3, present))).toBe(ResultCode.protocolError);
    expect(code(raw(0, Buffer.from([0x8f, 0x01, 0x78])))).toBe(ResultCode.protocolError);
    // A length running past its container, an indefinite length.
    expect(code(raw(0, Buffer.from([0x87, 0x7f, 0x61])))).toBe(ResultCode.protocolError);
    expect(code(raw(0, Buffer.from([0xa0, 0x80, 0x00, 0x00])))).toBe(ResultCode.protocolError);
    // Bigger than the limit: refused before it is decoded.
    expect(code(raw(0, present), 3)).toBe(ResultCode.adminLimitExceeded);
    // Nested deeper than any configurable limit: refused without deepening the stack.
    let deep = present;
    for (let k = 0; k < MAX_DECODED_FILTER_DEPTH + 5; k++) deep = Buffer.concat([Buffer.from([0xa2, 0x82, deep.length >> 8, deep.length & 0xff]), deep]);
    expect(code(raw(0, deep), 65_536)).toBe(ResultCode.adminLimitExceeded);
    expect(code(searchMessage({ filter: '(cn=x)', controls: [criticalControl('1.2.3.4.5')] }))).toBe(ResultCode.unavailableCriticalExtension);
    expect(decode(searchMessage({ filter: '(cn=x)', controls: [pagedControl(3)] })).request?.paged?.size).toBe(3);
  });

  it('never throws on mutated or truncated messages whose envelope is readable', () => {
    const base = searchMessage({ filter: '(&(|(cn=ab*)(mail=*x*))(!(sn=Fourier))(cn:=y))', attributes: ['cn', 'mail'], controls: [pagedControl(5, Buffer.from('c'))] });
    let seed = 11;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let decoded = 0;
    for (let k = 0; k < 5000; k++) {
      const mutated = Buffer.from(base);
      for (let m = 1 + Math.floor(random() * 3); m > 0; m--) mutated[2 + Math.floor(random() * (mutated.length - 2))] = Math.floor(random() * 256);
      const cut = random() < 0.3 ? mutated.subarray(0, 2 + Math.floor(random() * (mutated.length - 2))) : mutated;
      if (!peekMessage(cut)) continue;
      const result = decode(cut);
      expect(result.request !== undefined || result.problem !== undefined).toBe(true);
      decoded++;
    }
    expect(decoded).toBeGreaterThan(1000);
  });
});

describe('encoding a SearchResultDone', () => {
  it('is what ldapjs’s own message parser reads, the paged results cookie included', () => {
    const bytes = encodeSearchDone(260, { code: ResultCode.sizeLimitExceeded, matchedDN: 'ou=gal,dc=example,dc=com', message: 'größer', cookie: Buffer.from([9, 8]) });
    const parsed = ldapMessages.LdapMessage.parse(new asn1.BerReader(bytes));
    expect([parsed.constructor.name, parsed.messageId, parsed.status, parsed.matchedDN, parsed.diagnosticMessage]).toEqual(['SearchResultDone', 260, 4, 'ou=gal,dc=example,dc=com', 'größer']);
    expect(parsed.controls.map((control) => [control.type, control.value])).toEqual([[PAGED_RESULTS_OID, { size: 0, cookie: Buffer.from([9, 8]) }]]);
    const plain = ldapMessages.LdapMessage.parse(new asn1.BerReader(encodeSearchDone(1, { code: 0, matchedDN: '', message: '' })));
    expect([plain.status, plain.controls]).toEqual([0, []]);
  });
});

describe('writing an answer', () => {
  const entry = (n: number, bytes: number): LdapEntry => ({ dn: `mail=p${n}@example.com,ou=gal,dc=example,dc=com`, attributes: [{ type: 'description', values: ['x'.repeat(bytes)] }] });

  it('is one write for an answer of fewer than FIRST_WRITE_ENTRIES entries, entries then the result, the same bytes as encoding each', () => {
    const writes: Buffer[] = [];
    const answer = new SearchAnswer({ write: (chunk) => writes.push(chunk) }, 5);
    const entries = [entry(1, 10), entry(2, 20)];
    for (const e of entries) answer.entry(e);
    expect(writes).toHaveLength(0);
    answer.done({ code: 0, matchedDN: '', message: '' });
    expect(writes).toHaveLength(1);
    expect(writes[0]).toEqual(Buffer.concat([...entries.map((e) => encodeOutgoing(e, 5)), encodeSearchDone(5, { code: 0, matchedDN: '', message: '' })]));
  });

  it('writes its first FIRST_WRITE_ENTRIES entries at once, the rest with the result', () => {
    const writes: Buffer[] = [];
    const answer = new SearchAnswer({ write: (chunk) => writes.push(chunk) }, 7);
    const entries = Array.from({ length: 50 }, (_, n) => entry(n, 40));
    for (const [n, e] of entries.entries()) {
      answer.entry(e);
      // Nothing before the FIRST_WRITE_ENTRIES-th entry, then nothing more until the result.
      expect(writes).toHaveLength(n + 1 < FIRST_WRITE_ENTRIES ? 0 : 1);
    }
    answer.done({ code: 4, matchedDN: '', message: '' });
    expect(writes).toHaveLength(2);
    expect(writes[0]).toEqual(Buffer.concat(entries.slice(0, FIRST_WRITE_ENTRIES).map((e) => encodeOutgoing(e, 7))));
    expect(writes[1]).toEqual(Buffer.concat([...entries.slice(FIRST_WRITE_ENTRIES).map((e) => encodeOutgoing(e, 7)), encodeSearchDone(7, { code: 4, matchedDN: '', message: '' })]));
  });

  it('goes out in pieces of about ANSWER_FLUSH_BYTES when large, not encoded whole first', () => {
    const writes: Buffer[] = [];
    const answer = new SearchAnswer({ write: (chunk) => writes.push(chunk) }, 9);
    const entries = Array.from({ length: 100 }, (_, n) => entry(n, 3000));
    for (const e of entries) answer.entry(e);
    answer.done({ code: 4, matchedDN: '', message: 'size limit of 100 reached' });
    expect(writes.length).toBeGreaterThan(3);
    for (const chunk of writes) expect(chunk.length).toBeLessThan(ANSWER_FLUSH_BYTES + 3100);
    expect(Buffer.concat(writes)).toEqual(Buffer.concat([...entries.map((e) => encodeOutgoing(e, 9)), encodeSearchDone(9, { code: 4, matchedDN: '', message: 'size limit of 100 reached' })]));
  });
});
