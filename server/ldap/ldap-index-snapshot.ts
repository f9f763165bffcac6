import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { forEachMatchValue, type MatchKey } from '../directory/search/search-terms.ts';
import type { AttributeSelection } from './ldap-attributes.ts';
import { wantsAttribute } from './ldap-attributes.ts';
import { assembleSearchEntry, elementSize, encodeAttribute, encodeDn } from './ldap-ber.ts';
import { galEntry, type GalRow, type PreEncodedEntry } from './ldap-entry.ts';
import type { IndexProbe } from './ldap-filter-sql.ts';
import { ATTRIBUTES } from './ldap-schema.ts';

/**
 * The packed half of the LDAP door's in-memory GAL index (ldap-index.ts):
 * one domain's visible entries as of one moment, immutable once built.
 *
 * - entries in id order (the order LDAP answers in): `ids` holds each one's
 *   uuid text (36 bytes), `records` its SearchResultEntry parts already in
 *   BER (the DN element, then per attribute its schema index and its
 *   PartialAttribute element), rendered by galEntry, the one policy for
 *   what an entry shows;
 * - prepared match values per attribute, sorted, in one Buffer with their
 *   entry ordinals: equality and prefix tests are two binary searches.
 *
 * Everything lives in a few Buffers and typed arrays, off the JS heap, so
 * 100,000 entries cost the garbage collector a handful of objects.
 */

const ID_BYTES = 36;
const ALL: AttributeSelection = { allUser: true, allOperational: true, named: new Set(), otherNames: new Set() };
const DEF_INDEX = new Map(ATTRIBUTES.map((def, n) => [def.name, n]));

/** One entry as the index holds it: its BER record and its prepared match values. */
export interface IndexedEntry {
  id: string;
  record: Buffer;
  values: Array<[MatchKey, string]>;
}

/** Renders a row (read as galQuery reads it, aliases included, without photo and members) into index form. */
export function indexEntry(row: GalRow, domain: string): IndexedEntry {
  const entry = galEntry(row, domain, ALL, false);
  const parts = [encodeDn(entry.dn)];
  for (const attribute of entry.attributes) parts.push(Buffer.from([DEF_INDEX.get(attribute.type)!]), encodeAttribute(attribute));
  const values: Array<[MatchKey, string]> = [];
  forEachMatchValue({ ...row, aliases: row.aliases ?? [] }, (attr, value) => values.push([attr, value]));
  return { id: row.id, record: Buffer.concat(parts), values };
}

/** Approximate bytes an entry costs in a snapshot (record, id, keys and their offsets). */
export function entryBytes(entry: IndexedEntry): number {
  let bytes = entry.record.length + ID_BYTES + 8;
  for (const [, value] of entry.values) bytes += Buffer.byteLength(value, 'utf8') + 8;
  return bytes;
}

/** Which attribute schema indexes a selection wants: the same test galEntry applies. */
export function wantedAttributes(selection: AttributeSelection): boolean[] {
  return ATTRIBUTES.map((def) => wantsAttribute(selection, def));
}

/** An entry to send, encoded on demand with the search's message id. */
export function preEncoded(id: string, source: Buffer, start: number, end: number, wanted: readonly boolean[]): PreEncodedEntry {
  const dnEnd = start + elementSize(source, start);
  const pieces: number[] = [];
  for (let at = dnEnd; at < end; ) {
    const size = elementSize(source, at + 1);
    if (wanted[source[at]!]) pieces.push(at + 1, at + 1 + size);
    at += 1 + size;
  }
  return { id, encode: (messageId) => assembleSearchEntry(messageId, source, [start, dnEnd], pieces) };
}

export function probeMatches(probe: IndexProbe, values: ReadonlyArray<[MatchKey, string]>): boolean {
  return values.some(([attr, value]) => attr === probe.attr && (probe.prefix ? value.startsWith(probe.value) : value === probe.value));
}

export class Snapshot {
  private constructor(
    /** Entries, ascending by id. */
    readonly count: number,
    private readonly ids: Buffer,
    private readonly records: Buffer,
    private readonly recordStart: Uint32Array,
    private readonly keys: Buffer,
    private readonly keyStart: Uint32Array,
    private readonly keyEntry: Uint32Array,
    /** Per attribute, its keys' half-open range of key numbers. */
    private readonly attrKeys: ReadonlyMap<MatchKey, readonly [number, number]>,
    readonly bytes: number,
  ) {}

  /**
   * Packs entries (ascending by id). Sorting yields to the event loop
   * between attributes, so a large build never holds it for long.
   */
  static async build(entries: readonly IndexedEntry[]): Promise<Snapshot> {
    const count = entries.length;
    const ids = Buffer.allocUnsafe(count * ID_BYTES);
    const recordStart = new Uint32Array(count + 1);
    let recordBytes = 0;
    const perAttr = new Map<MatchKey, { values: string[]; entries: number[] }>();
    entries.forEach((entry, n) => {
      ids.write(entry.id, n * ID_BYTES, ID_BYTES, 'latin1');
      recordStart[n] = recordBytes;
      recordBytes += entry.record.length;
      for (const [attr, value] of entry.values) {
        let list = perAttr.get(attr);
        if (!list) perAttr.set(attr, (list = { values: [], entries: [] }));
        list.values.push(value);
        list.entries.push(n);
      }
    });
    recordStart[count] = recordBytes;
    const records = Buffer.allocUnsafe(recordBytes);
    entries.forEach((entry, n) => entry.record.copy(records, recordStart[n]!));
    await yieldToLoop();

    let keyCount = 0;
    let keyBytes = 0;
    for (const list of perAttr.values()) {
      keyCount += list.values.length;
      for (const value of list.values) keyBytes += Buffer.byteLength(value, 'utf8');
    }
    const keys = Buffer.allocUnsafe(keyBytes);
    const keyStart = new Uint32Array(keyCount + 1);
    const keyEntry = new Uint32Array(keyCount);
    const attrKeys = new Map<MatchKey, readonly [number, number]>();
    let k = 0;
    let at = 0;
    for (const [attr, list] of perAttr) {
      // JS string order (UTF-16 code units); lookups compare the same way, and every order keeps a prefix's keys together.
      const order = Array.from(list.values.keys()).sort((a, b) => {
        const x = list.values[a]!;
        const y = list.values[b]!;
        return x < y ? -1 : x > y ? 1 : list.entries[a]! - list.entries[b]!;
      });
      const from = k;
      for (const n of order) {
        keyStart[k] = at;
        at += keys.write(list.values[n]!, at, 'utf8');
        keyEntry[k] = list.entries[n]!;
        k++;
      }
      attrKeys.set(attr, [from, k]);
      await yieldToLoop();
    }
    keyStart[keyCount] = at;
    const bytes = ids.length + records.length + recordStart.byteLength + keys.length + keyStart.byteLength + keyEntry.byteLength;
    return new Snapshot(count, ids, records, recordStart, keys, keyStart, keyEntry, attrKeys, bytes);
  }

  id(ordinal: number): string {
    return this.ids.toString('latin1', ordinal * ID_BYTES, (ordinal + 1) * ID_BYTES);
  }

  /** The first ordinal whose id is greater than `id` (ids compare as lower-case hex, which is uuid byte order). */
  firstAfter(id: string): number {
    let low = 0;
    let high = this.count;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.id(mid) <= id) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Ordinals of entries matching any probe, ascending, without repeats. */
  matching(probes: readonly IndexProbe[]): Uint32Array {
    const ranges: Array<[number, number]> = [];
    let total = 0;
    for (const probe of probes) {
      const range = this.attrKeys.get(probe.attr);
      if (!range) continue;
      const from = this.lowerBound(range[0], range[1], (key) => key < probe.value);
      const to = this.lowerBound(from, range[1], probe.prefix ? (key) => key < probe.value || key.startsWith(probe.value) : (key) => key <= probe.value);
      ranges.push([from, to]);
      total += to - from;
    }
    const found = new Uint32Array(total);
    let n = 0;
    for (const [from, to] of ranges) for (let k = from; k < to; k++) found[n++] = this.keyEntry[k]!;
    found.sort();
    let unique = 0;
    for (let k = 0; k < found.length; k++) if (k === 0 || found[k] !== found[k - 1]) found[unique++] = found[k]!;
    return found.subarray(0, unique);
  }

  entry(ordinal: number, wanted: readonly boolean[]): PreEncodedEntry {
    return preEncoded(this.id(ordinal), this.records, this.recordStart[ordinal]!, this.recordStart[ordinal + 1]!, wanted);
  }

  /** The first key number in [from, to) whose key does not satisfy `before` (which holds for a prefix of the range). */
  private lowerBound(from: number, to: number, before: (key: string) => boolean): number {
    let low = from;
    let high = to;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (before(this.keys.toString('utf8', this.keyStart[mid]!, this.keyStart[mid + 1]!))) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}
