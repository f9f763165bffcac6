import type { FilterNode } from './ldap-filter.ts';
import { PAGED_RESULTS_OID } from './ldap-paging.ts';
import { LdapError, ResultCode } from './ldap-result.ts';
import type { LdapSearchRequest } from './ldap-search.ts';

/**
 * Decodes a SearchRequest message (RFC 4511 §4.5.1) straight from its BER
 * into dmci's own types: a FilterNode tree, plain strings. The door's hottest
 * path (every address-book keystroke): ldapjs built a message object, parsed
 * the base DN twice and a filter object per item before we converted it,
 * which cost more than answering from the index (docs/decisions.md, "The
 * LDAP door decodes search requests itself"). Every other operation still
 * goes through ldapjs.
 *
 * Nothing here trusts a length: every element is checked to lie inside its
 * parent, and filter nesting is capped before it can deepen the stack.
 */

export const SEARCH_REQUEST_TAG = 0x63;
/** Filters nest at most this deep while decoding (DMCI_LDAP_MAX_FILTER_DEPTH allows up to 256). */
export const MAX_DECODED_FILTER_DEPTH = 300;

/** A decoded search: the message id, then the request or why it cannot be answered. */
export interface DecodedSearch {
  messageId: number;
  request?: LdapSearchRequest;
  problem?: LdapError;
}

/** The message's id and protocolOp tag when it is an LDAPMessage, else undefined (the connection is not speaking LDAP). */
export function peekMessage(message: Buffer): { messageId: number; opTag: number } | undefined {
  try {
    const reader = new BerReader(message, 0, message.length);
    const body = reader.enter(0x30);
    const messageId = body.integer(0x02);
    return messageId < 0 ? undefined : { messageId, opTag: body.peekTag() };
  } catch {
    return undefined;
  }
}

/** Decodes a whole SearchRequest message; `maxFilterBytes` is checked before the filter is decoded. */
export function decodeSearchRequest(message: Buffer, maxFilterBytes: number): DecodedSearch {
  const envelope = new BerReader(message, 0, message.length).enter(0x30);
  const messageId = envelope.integer(0x02);
  try {
    const op = envelope.enter(SEARCH_REQUEST_TAG);
    const base = op.string(0x04);
    const scope = op.integer(0x0a);
    op.integer(0x0a); // derefAliases: dmci has no aliases to dereference
    const sizeLimit = op.integer(0x02);
    const timeLimit = op.integer(0x02);
    const typesOnly = op.boolean();
    const filterBytes = op.elementSize();
    if (filterBytes > maxFilterBytes) {
      return { messageId, problem: new LdapError(ResultCode.adminLimitExceeded, `search filter is ${filterBytes} bytes; the limit is ${maxFilterBytes} (DMCI_LDAP_MAX_FILTER_BYTES)`) };
    }
    let filter: FilterNode;
    try {
      filter = decodeFilter(op, 1);
    } catch (error) {
      if (error instanceof LdapError) return { messageId, problem: error };
      return { messageId, problem: new LdapError(ResultCode.protocolError, `malformed search filter: ${(error as Error).message}`) };
    }
    const attributes: string[] = [];
    const list = op.enter(0x30);
    while (!list.done) {
      const name = list.string(0x04);
      // RFC 4511 §4.5.1.8: an attribute that is not a valid description is simply not returned.
      if (name === '*' || name === '+' || name === '1.1' || ATTRIBUTE_DESCRIPTION.test(name)) attributes.push(name);
    }
    if (!Number.isInteger(scope) || scope < 0 || scope > 2) return { messageId, problem: new LdapError(ResultCode.protocolError, `invalid search scope ${scope}`) };

    let paged: LdapSearchRequest['paged'];
    let unknownCriticalControl: string | undefined;
    if (!envelope.done && envelope.peekTag() === 0xa0) {
      const controls = envelope.enter(0xa0);
      while (!controls.done) {
        const control = controls.enter(0x30);
        const type = control.string(0x04);
        const critical = !control.done && control.peekTag() === 0x01 ? control.boolean() : false;
        const value = !control.done ? control.enter(0x04) : undefined;
        if (type === PAGED_RESULTS_OID) {
          if (!value) throw new Error('paged results control without a value');
          const pagedValue = value.enter(0x30);
          paged = { size: pagedValue.integer(0x02), cookie: pagedValue.bytes(0x04) };
        } else if (critical && unknownCriticalControl === undefined) {
          unknownCriticalControl = type;
        }
      }
    }
    const request: LdapSearchRequest = {
      base,
      scope: scope === 2 ? 'sub' : scope === 1 ? 'one' : 'base',
      filter,
      attributes,
      typesOnly,
      sizeLimit: Math.max(0, sizeLimit),
      timeLimitSeconds: Math.max(0, timeLimit),
      ...(paged ? { paged } : {}),
    };
    if (unknownCriticalControl !== undefined) {
      return { messageId, problem: new LdapError(ResultCode.unavailableCriticalExtension, `critical control ${unknownCriticalControl} is not supported`) };
    }
    return { messageId, request };
  } catch (error) {
    return { messageId, problem: new LdapError(ResultCode.protocolError, `malformed search request: ${(error as Error).message}`) };
  }
}

/** RFC 4512 §2.5 attribute descriptions (descr or numeric oid, with options). */
const ATTRIBUTE_DESCRIPTION = /^[A-Za-z][\w.;-]*$/;

/** The BER filter at the reader's position (RFC 4511 §4.5.1.7), as a FilterNode. */
export function decodeFilter(reader: BerReader, depth: number): FilterNode {
  if (depth > MAX_DECODED_FILTER_DEPTH) {
    throw new LdapError(ResultCode.adminLimitExceeded, `search filter nests more than ${MAX_DECODED_FILTER_DEPTH} levels deep (DMCI_LDAP_MAX_FILTER_DEPTH)`);
  }
  const tag = reader.peekTag();
  switch (tag) {
    case 0xa0:
    case 0xa1: {
      const set = reader.enter(tag);
      const children: FilterNode[] = [];
      while (!set.done) children.push(decodeFilter(set, depth + 1));
      return { type: tag === 0xa0 ? 'and' : 'or', children };
    }
    case 0xa2: {
      const inner = reader.enter(tag);
      const child = decodeFilter(inner, depth + 1);
      if (!inner.done) throw new Error('a NOT filter holds one filter');
      return { type: 'not', child };
    }
    case 0xa3:
    case 0xa5:
    case 0xa6:
    case 0xa8: {
      const assertion = reader.enter(tag);
      const attribute = assertion.string(0x04);
      const value = assertion.string(0x04);
      return { type: tag === 0xa3 ? 'equality' : tag === 0xa5 ? 'gte' : tag === 0xa6 ? 'lte' : 'approx', attribute, value };
    }
    case 0xa4: {
      const substrings = reader.enter(tag);
      const attribute = substrings.string(0x04);
      const parts = substrings.enter(0x30);
      let initial = '';
      let final = '';
      const any: string[] = [];
      while (!parts.done) {
        const partTag = parts.peekTag();
        const part = parts.string(partTag);
        if (partTag === 0x80) initial = part;
        else if (partTag === 0x81) any.push(part);
        else if (partTag === 0x82) final = part;
        else throw new Error(`invalid substrings choice 0x${partTag.toString(16)}`);
      }
      return { type: 'substrings', attribute, ...(initial ? { initial } : {}), any, ...(final ? { final } : {}) };
    }
    case 0x87:
      return { type: 'present', attribute: reader.string(0x87) };
    case 0xa9:
      return extensibleFilter(reader.enter(tag));
    default:
      throw new Error(`invalid search filter type: 0x${tag.toString(16).padStart(2, '0')}`);
  }
}

/**
 * `(attr:=value)` and `(attr:caseIgnoreMatch:=value)` are plain equality;
 * other matching rules and dnAttributes are Undefined (RFC 4511 §4.5.1.7.7
 * lets a server not support a rule).
 */
function extensibleFilter(assertion: BerReader): FilterNode {
  let rule: string | undefined;
  let attribute: string | undefined;
  let value = '';
  let dnAttributes = false;
  while (!assertion.done) {
    const tag = assertion.peekTag();
    if (tag === 0x81) rule = assertion.string(tag);
    else if (tag === 0x82) attribute = assertion.string(tag);
    else if (tag === 0x83) value = assertion.string(tag);
    else if (tag === 0x84) dnAttributes = assertion.boolean(tag);
    else throw new Error(`invalid extensible filter type: 0x${tag.toString(16).padStart(2, '0')}`);
  }
  const lowered = rule?.toLowerCase();
  if (attribute && !dnAttributes && (!lowered || EQUALITY_RULES.has(lowered))) return { type: 'equality', attribute, value };
  return { type: 'undefined', description: `${attribute ?? ''}:${rule ?? ''}:=` };
}

const EQUALITY_RULES = new Set(['caseignorematch', '2.5.13.2', 'caseignoreia5match', '1.3.6.1.4.1.1466.109.114.2']);

/**
 * Reads the BER elements between `at` and `end` of a buffer, one after the
 * other (LDAP's subset: one-byte tags, definite lengths of at most 4 bytes).
 * `enter` returns a reader of one constructed element's contents.
 */
export class BerReader {
  constructor(
    private readonly buffer: Buffer,
    private at: number,
    private readonly end: number,
  ) {}

  get done(): boolean {
    return this.at >= this.end;
  }

  peekTag(): number {
    if (this.at >= this.end) throw new Error('element expected, found the end');
    return this.buffer[this.at]!;
  }

  /** The whole size (tag, length, contents) of the element at the position. */
  elementSize(): number {
    const [contentStart, contentEnd] = this.header();
    return contentEnd - contentStart + (contentStart - this.at);
  }

  /** A reader of the contents of the element at the position, which must have `tag`; moves past it. */
  enter(tag: number): BerReader {
    const [start, end] = this.element(tag);
    return new BerReader(this.buffer, start, end);
  }

  string(tag: number): string {
    const [start, end] = this.element(tag);
    return this.buffer.toString('utf8', start, end);
  }

  bytes(tag: number): Buffer {
    const [start, end] = this.element(tag);
    return Buffer.from(this.buffer.subarray(start, end));
  }

  /** An INTEGER or ENUMERATED (at most 6 bytes: message ids, limits). */
  integer(tag: number): number {
    const [start, end] = this.element(tag);
    if (end === start || end - start > 6) throw new Error(`an integer of ${end - start} bytes`);
    let value = 0;
    for (let k = start; k < end; k++) value = value * 256 + this.buffer[k]!;
    // Two's complement: a leading 1 bit makes it negative.
    return this.buffer[start]! >= 0x80 ? value - 256 ** (end - start) : value;
  }

  boolean(tag = 0x01): boolean {
    const [start, end] = this.element(tag);
    if (end - start !== 1) throw new Error('a BOOLEAN is one byte');
    return this.buffer[start] !== 0;
  }

  /** Moves past the element at the position, which must have `tag`; returns its contents' range. */
  private element(tag: number): [number, number] {
    const found = this.peekTag();
    if (found !== tag) throw new Error(`expected tag 0x${tag.toString(16)}, found 0x${found.toString(16)}`);
    const range = this.header();
    this.at = range[1];
    return range;
  }

  /** The contents' range of the element at the position, checked to lie inside this reader. */
  private header(): [number, number] {
    const buffer = this.buffer;
    if (this.at + 2 > this.end) throw new Error('truncated element');
    const first = buffer[this.at + 1]!;
    let start = this.at + 2;
    let length = first;
    if (first >= 0x80) {
      const octets = first & 0x7f;
      if (octets === 0 || octets > 4) throw new Error('invalid BER length');
      if (start + octets > this.end) throw new Error('truncated length');
      length = 0;
      for (let k = 0; k < octets; k++) length = length * 256 + buffer[start + k]!;
      start += octets;
    }
    if (start + length > this.end) throw new Error('element longer than its container');
    return [start, start + length];
  }
}
