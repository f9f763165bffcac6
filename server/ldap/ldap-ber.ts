import { PAGED_RESULTS_OID } from './ldap-paging.ts';
import type { LdapEntry } from './ldap-entry.ts';

/**
 * Encodes SearchResultEntry messages (RFC 4511 §4.5.2) directly. ldapjs
 * builds each one from objects (re-parsing the DN, one Attribute per
 * attribute, a growing BER writer), which cost more than the SQL behind a
 * typical search; this is the same bytes for a fraction of the work. Two
 * passes: the first measures every element (BER lengths come before their
 * contents), the second writes into one buffer of exactly that size, so an
 * entry costs one allocation instead of one Buffer per element.
 */
export function encodeSearchEntry(messageId: number, entry: LdapEntry): Buffer {
  // Pass 1: the byte length of each value, and of each attribute's contents, in writing order.
  const valueLengths: number[] = [];
  const attributeLengths: number[] = [];
  let attributesContent = 0;
  for (const attribute of entry.attributes) {
    const typeLength = Buffer.byteLength(attribute.type, 'utf8');
    let setContent = 0;
    for (const value of attribute.values) {
      const length = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
      valueLengths.push(length);
      setContent += tlvSize(length);
    }
    const attributeContent = tlvSize(typeLength) + tlvSize(setContent);
    attributeLengths.push(typeLength, setContent, attributeContent);
    attributesContent += tlvSize(attributeContent);
  }
  const dnLength = Buffer.byteLength(entry.dn, 'utf8');
  const opContent = tlvSize(dnLength) + tlvSize(attributesContent);

  // Pass 2: write.
  const message = entryMessage(messageId, opContent);
  const out = message.out;
  let at = header(out, message.at, 0x04, dnLength);
  at += out.write(entry.dn, at, 'utf8');
  at = header(out, at, 0x30, attributesContent);
  let valueIndex = 0;
  entry.attributes.forEach((attribute, a) => {
    const [typeLength, setContent, attributeContent] = [attributeLengths[3 * a]!, attributeLengths[3 * a + 1]!, attributeLengths[3 * a + 2]!];
    at = header(out, at, 0x30, attributeContent);
    at = header(out, at, 0x04, typeLength);
    at += out.write(attribute.type, at, 'utf8');
    at = header(out, at, 0x31, setContent);
    for (const value of attribute.values) {
      at = header(out, at, 0x04, valueLengths[valueIndex++]!);
      at += typeof value === 'string' ? out.write(value, at, 'utf8') : value.copy(out, at);
    }
  });
  return out;
}

/**
 * A SearchResultEntry message buffer of exactly its size for `opContent`
 * bytes of protocolOp contents, with everything before them written (the
 * envelope, the message id, the protocolOp header); `at` is where they go.
 */
function entryMessage(messageId: number, opContent: number): { out: Buffer; at: number } {
  const out = Buffer.allocUnsafe(tlvSize(messageContentSize(messageId, opContent)));
  return { out, at: writeMessageStart(out, 0, messageId, 0x64, opContent) };
}

/** Bytes of a TLV whose contents are `size` bytes: tag, BER definite length (short form below 128), contents. */
function tlvSize(size: number): number {
  return 1 + lengthOctets(size) + size;
}

function lengthOctets(size: number): number {
  if (size < 0x80) return 1;
  let octets = 1;
  for (let rest = size; rest > 0; rest = Math.floor(rest / 256)) octets++;
  return octets;
}

/** Writes a tag and a definite length at `at`; returns where the contents start. */
function header(out: Buffer, at: number, tag: number, size: number): number {
  out[at++] = tag;
  if (size < 0x80) {
    out[at++] = size;
    return at;
  }
  const octets = lengthOctets(size) - 1;
  out[at++] = 0x80 | octets;
  for (let k = octets - 1; k >= 0; k--) out[at++] = Math.floor(size / 256 ** k) % 256;
  return at;
}

/** Octets of a non-negative INTEGER (message ids are 0..2^31-1) in minimal two's complement: a leading 0 when the top bit is set. */
function integerOctets(value: number): number {
  let octets = 1;
  while (value >= 256 ** octets) octets++;
  return Math.floor(value / 256 ** (octets - 1)) & 0x80 ? octets + 1 : octets;
}

/**
 * One PartialAttribute (type and value set) as BER: the piece ldap-index.ts
 * stores per attribute of an entry, so a search answered from the index
 * copies bytes instead of encoding.
 */
export function encodeAttribute(attribute: LdapEntry['attributes'][number]): Buffer {
  const typeLength = Buffer.byteLength(attribute.type, 'utf8');
  const lengths = attribute.values.map((value) => (typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length));
  const setContent = lengths.reduce((sum, length) => sum + tlvSize(length), 0);
  const content = tlvSize(typeLength) + tlvSize(setContent);
  const out = Buffer.allocUnsafe(tlvSize(content));
  let at = header(out, 0, 0x30, content);
  at = header(out, at, 0x04, typeLength);
  at += out.write(attribute.type, at, 'utf8');
  at = header(out, at, 0x31, setContent);
  attribute.values.forEach((value, n) => {
    at = header(out, at, 0x04, lengths[n]!);
    at += typeof value === 'string' ? out.write(value, at, 'utf8') : value.copy(out, at);
  });
  return out;
}

/** An entry's DN as the OCTET STRING element that starts a SearchResultEntry. */
export function encodeDn(dn: string): Buffer {
  const length = Buffer.byteLength(dn, 'utf8');
  const out = Buffer.allocUnsafe(tlvSize(length));
  out.write(dn, header(out, 0, 0x04, length), 'utf8');
  return out;
}

/** The byte length of the BER element (tag, length, contents) starting at `at`. */
export function elementSize(bytes: Buffer, at: number): number {
  const first = bytes[at + 1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  let size = 0;
  for (let k = 0; k < octets; k++) size = size * 256 + bytes[at + 2 + k]!;
  return 2 + octets + size;
}

/**
 * A SearchResultEntry from pre-encoded parts (the DN element, encodeDn; the
 * attribute elements, encodeAttribute): its size, for `attributesContent`
 * bytes of attribute elements after a DN element of `dnBytes`.
 */
export function assembledEntrySize(messageId: number, dnBytes: number, attributesContent: number): number {
  return tlvSize(messageContentSize(messageId, dnBytes + tlvSize(attributesContent)));
}

/**
 * Writes such an entry's start at `at`: the envelope, the message id, the
 * protocolOp header, the DN element (copied from source[dnStart, dnEnd)) and
 * the attributes' header; returns where the attribute elements go
 * (copyBytes them there). Same bytes as encodeSearchEntry.
 */
export function writeAssembledEntryStart(out: Buffer, at: number, messageId: number, source: Buffer, dnStart: number, dnEnd: number, attributesContent: number): number {
  at = writeMessageStart(out, at, messageId, 0x64, dnEnd - dnStart + tlvSize(attributesContent));
  at = copyBytes(source, dnStart, dnEnd, out, at);
  return header(out, at, 0x30, attributesContent);
}

/**
 * Copies source[start, end) to out[at…]; returns the end. Pieces of an entry
 * (a DN, an attribute: tens of bytes) by hand: Buffer#copy makes a view object
 * per call and crosses into C++, which costs more than it moves.
 */
export function copyBytes(source: Buffer, start: number, end: number, out: Buffer, at: number): number {
  if (end - start > 512) return at + source.copy(out, at, start, end);
  for (let k = start; k < end; k++) out[at++] = source[k]!;
  return at;
}

/** Contents of an LDAPMessage envelope: the message id, then a protocolOp of `opContent` bytes. */
function messageContentSize(messageId: number, opContent: number): number {
  return 2 + integerOctets(messageId) + tlvSize(opContent);
}

/** Writes an LDAPMessage's envelope, id and protocolOp header at `at` (controls none); returns where the op's contents go. */
function writeMessageStart(out: Buffer, at: number, messageId: number, opTag: number, opContent: number, controls = 0): number {
  const idOctets = integerOctets(messageId);
  at = header(out, at, 0x30, messageContentSize(messageId, opContent) + controls);
  out[at++] = 0x02;
  out[at++] = idOctets;
  for (let k = idOctets - 1; k >= 0; k--) out[at++] = Math.floor(messageId / 256 ** k) % 256;
  return header(out, at, opTag, opContent);
}

/**
 * A SearchResultDone (RFC 4511 §4.5.2) with its result, and the paged
 * results control (RFC 2696) when `cookie` is given.
 */
export function encodeSearchDone(messageId: number, result: { code: number; matchedDN: string; message: string; cookie?: Buffer }): Buffer {
  const matched = Buffer.from(result.matchedDN, 'utf8');
  const diagnostic = Buffer.from(result.message, 'utf8');
  const opContent = 3 + tlvSize(matched.length) + tlvSize(diagnostic.length);
  // controls [0] { Control { controlType, controlValue OCTET STRING { SEQUENCE { size 0, cookie } } } }
  const oid = PAGED_OID_BYTES;
  const pagedValue = result.cookie ? 3 + tlvSize(result.cookie.length) : 0;
  const control = result.cookie ? tlvSize(oid.length) + tlvSize(tlvSize(pagedValue)) : 0;
  const controls = result.cookie ? tlvSize(tlvSize(control)) : 0;
  const out = Buffer.allocUnsafe(tlvSize(messageContentSize(messageId, opContent) + controls));
  let at = writeMessageStart(out, 0, messageId, 0x65, opContent, controls);
  out[at++] = 0x0a;
  out[at++] = 1;
  out[at++] = result.code;
  at = header(out, at, 0x04, matched.length);
  at += matched.copy(out, at);
  at = header(out, at, 0x04, diagnostic.length);
  at += diagnostic.copy(out, at);
  if (result.cookie) {
    at = header(out, at, 0xa0, tlvSize(control));
    at = header(out, at, 0x30, control);
    at = header(out, at, 0x04, oid.length);
    at += oid.copy(out, at);
    at = header(out, at, 0x04, tlvSize(pagedValue));
    at = header(out, at, 0x30, pagedValue);
    out[at++] = 0x02;
    out[at++] = 1;
    out[at++] = 0;
    at = header(out, at, 0x04, result.cookie.length);
    at += result.cookie.copy(out, at);
  }
  return out;
}

const PAGED_OID_BYTES = Buffer.from(PAGED_RESULTS_OID);
