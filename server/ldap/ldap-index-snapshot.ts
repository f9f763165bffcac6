import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { forEachMatchValue, type MatchKey } from '../directory/search/search-terms.ts';
import type { AttributeSelection } from './ldap-attributes.ts';
import { wantsAttribute } from './ldap-attributes.ts';
import { assembledEntrySize, copyBytes, elementSize, encodeAttribute, encodeDn, writeAssembledEntryStart } from './ldap-ber.ts';
import { galEntry, type GalRow, type PreEncodedEntry } from './ldap-entry.ts';
import { compareBytes, compareCodePoints } from './ldap-index-filter-bytes.ts';
import { KINDS, type EntryView, type IndexProbe } from './ldap-index-filter.ts';
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
 *   entry ordinals: equality and prefix tests are two binary searches;
 * - per entry, the numbers of its keys (its prepared values), its kind, which
 *   attributes it shows, its capacity and timestamps: what a filter's test
 *   reads (ldap-index-filter.ts) without making a string of anything.
 *
 * Everything lives in a few Buffers and typed arrays, off the JS heap, so
 * 100,000 entries cost the garbage collector a handful of objects.
 */

const ID_BYTES = 36;
/** A value that may hold a lone surrogate (written to UTF-8 as U+FFFD: the key is compared as that). */
const LONE_SURROGATE_POSSIBLE = /[\uD800-\uDFFF]/;
/** A value where JS's code unit order may differ from code point order. */
const ABOVE_SURROGATES = /[\uD800-\uFFFF]/;
const ALL: AttributeSelection = { allUser: true, allOperational: true, named: new Set(), otherNames: new Set() };
const DEF_INDEX = new Map(ATTRIBUTES.map((def, n) => [def.name, n]));
// Which attributes an entry shows is one 32-bit mask.
if (ATTRIBUTES.length > 32) throw new Error('ldap-index-snapshot: more than 32 attributes do not fit the presence mask');

/** What a filter reads of an entry besides its values (see EntryView). */
export interface EntryFacts {
  kind: number;
  /** Bit n: the entry shows ATTRIBUTES[n]. */
  present: number;
  capacity: number;
  created: number;
  updated: number;
}
/** Bytes an entry's facts take in a snapshot (kind, mask, capacity, two timestamps, its keys' start). */
const FACT_BYTES = 1 + 4 + 4 + 16 + 4;

/** One entry as the index holds it: its BER record, its prepared match values and its facts. */
export interface IndexedEntry {
  id: string;
  record: Buffer;
  values: Array<[MatchKey, string]>;
  facts: EntryFacts;
}

/** Renders a row (read as galQuery reads it, aliases included, without photo and members) into index form. */
export function indexEntry(row: GalRow, domain: string): IndexedEntry {
  const entry = galEntry(row, domain, ALL, false);
  const parts = [encodeDn(entry.dn)];
  let present = 0;
  for (const attribute of entry.attributes) {
    const n = DEF_INDEX.get(attribute.type)!;
    present |= 1 << n;
    parts.push(Buffer.from([n]), encodeAttribute(attribute));
  }
  const values: Array<[MatchKey, string]> = [];
  forEachMatchValue({ ...row, aliases: row.aliases ?? [] }, (attr, value) => values.push([attr, value]));
  const facts = { kind: KINDS.indexOf(row.kind), present: present >>> 0, capacity: row.capacity ?? 0, created: wholeSeconds(row.created_at), updated: wholeSeconds(row.updated_at) };
  return { id: row.id, record: Buffer.concat(parts), values, facts };
}

function wholeSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** Approximate bytes an entry costs in a snapshot (record, id, facts, keys with their offsets and entry numbers both ways). */
export function entryBytes(entry: IndexedEntry): number {
  let bytes = entry.record.length + ID_BYTES + 8 + FACT_BYTES;
  for (const [, value] of entry.values) bytes += Buffer.byteLength(value, 'utf8') + 12;
  return bytes;
}

/** A changed entry held beside a snapshot, as a filter reads it. */
export class ChangedEntryView implements EntryView {
  constructor(private readonly entry: IndexedEntry) {}
  kind(): number {
    return this.entry.facts.kind;
  }
  has(def: number): boolean {
    return ((this.entry.facts.present >>> def) & 1) === 1;
  }
  capacity(): number {
    return this.entry.facts.capacity;
  }
  seconds(column: 'created_at' | 'updated_at'): number {
    return column === 'created_at' ? this.entry.facts.created : this.entry.facts.updated;
  }
  id(): string {
    return this.entry.id;
  }
  someValue(attr: MatchKey, test: (buf: Uint8Array, start: number, end: number) => boolean): boolean {
    for (const [key, value] of this.entry.values) {
      if (key !== attr) continue;
      const bytes = Buffer.from(value);
      if (test(bytes, 0, bytes.length)) return true;
    }
    return false;
  }
}

/** Which attribute schema indexes a selection wants: the same test galEntry applies. */
export function wantedAttributes(selection: AttributeSelection): boolean[] {
  return ATTRIBUTES.map((def) => wantsAttribute(selection, def));
}

/**
 * An entry to send from a packed record (its DN element, then per attribute
 * its schema index and element): the wanted attributes are measured and
 * copied straight from the record with the search's message id, nothing
 * held per part.
 */
abstract class RecordEntry implements PreEncodedEntry {
  /** Bytes of the wanted attribute elements (measured once). */
  private attributesContent = -1;

  constructor(
    private readonly source: Buffer,
    private readonly start: number,
    private readonly end: number,
    private readonly wanted: readonly boolean[],
  ) {}

  abstract readonly id: string;

  size(messageId: number): number {
    const { source, start, end, wanted } = this;
    const dnBytes = elementSize(source, start);
    if (this.attributesContent < 0) {
      let content = 0;
      for (let at = start + dnBytes; at < end; ) {
        const size = elementSize(source, at + 1);
        if (wanted[source[at]!]) content += size;
        at += 1 + size;
      }
      this.attributesContent = content;
    }
    return assembledEntrySize(messageId, dnBytes, this.attributesContent);
  }

  writeInto(out: Buffer, at: number, messageId: number): number {
    const { source, start, end, wanted } = this;
    if (this.attributesContent < 0) this.size(messageId);
    const dnEnd = start + elementSize(source, start);
    let to = writeAssembledEntryStart(out, at, messageId, source, start, dnEnd, this.attributesContent);
    // The same walk as size's, copying the wanted elements.
    for (let from = dnEnd; from < end; ) {
      const size = elementSize(source, from + 1);
      if (wanted[source[from]!]) to = copyBytes(source, from + 1, from + 1 + size, out, to);
      from += 1 + size;
    }
    return to;
  }
}

/** A changed entry held beside a snapshot, to send. */
class ChangedRecordEntry extends RecordEntry {
  constructor(
    readonly id: string,
    record: Buffer,
    wanted: readonly boolean[],
  ) {
    super(record, 0, record.length, wanted);
  }
}

/** A changed entry (held beside a snapshot) to send, with the attributes `wanted`. */
export function changedEntry(entry: IndexedEntry, wanted: readonly boolean[]): PreEncodedEntry {
  return new ChangedRecordEntry(entry.id, entry.record, wanted);
}

/** Per entry (by ordinal), what a filter's test reads besides the keys' bytes. */
interface EntryColumns {
  /** Its key numbers (ascending) are entryKeys[entryKeyStart[n], entryKeyStart[n + 1]). */
  entryKeyStart: Uint32Array;
  entryKeys: Uint32Array;
  kinds: Uint8Array;
  present: Uint32Array;
  capacities: Int32Array;
  /** Created then updated, in whole seconds. */
  times: Float64Array;
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
    private readonly columns: EntryColumns,
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
    const kinds = new Uint8Array(count);
    const present = new Uint32Array(count);
    const capacities = new Int32Array(count);
    const times = new Float64Array(count * 2);
    let recordBytes = 0;
    const perAttr = new Map<MatchKey, { values: string[]; entries: number[] }>();
    entries.forEach((entry, n) => {
      ids.write(entry.id, n * ID_BYTES, ID_BYTES, 'latin1');
      recordStart[n] = recordBytes;
      recordBytes += entry.record.length;
      kinds[n] = entry.facts.kind;
      present[n] = entry.facts.present;
      capacities[n] = entry.facts.capacity;
      times[n * 2] = entry.facts.created;
      times[n * 2 + 1] = entry.facts.updated;
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
      // UTF-8 byte order (code point order), so lookups compare the packed bytes in place; a prefix's keys are one run.
      // JS's `<` agrees for the strings that hold no code unit from U+D800 up: those (rare) compare by code point.
      const values = list.values.map((value) => (LONE_SURROGATE_POSSIBLE.test(value) ? Buffer.from(value).toString() : value));
      const high = values.map((value) => ABOVE_SURROGATES.test(value));
      const order = Array.from(values.keys()).sort((a, b) => {
        const x = values[a]!;
        const y = values[b]!;
        const order = high[a] || high[b] ? compareCodePoints(x, y) : x < y ? -1 : x > y ? 1 : 0;
        return order !== 0 ? order : list.entries[a]! - list.entries[b]!;
      });
      const from = k;
      for (const n of order) {
        keyStart[k] = at;
        at += keys.write(values[n]!, at, 'utf8');
        keyEntry[k] = list.entries[n]!;
        k++;
      }
      attrKeys.set(attr, [from, k]);
      await yieldToLoop();
    }
    keyStart[keyCount] = at;
    // Each entry's key numbers: counted, then filled in ascending key order.
    const entryKeyStart = new Uint32Array(count + 1);
    for (let key = 0; key < keyCount; key++) entryKeyStart[keyEntry[key]! + 1]!++;
    for (let n = 0; n < count; n++) entryKeyStart[n + 1]! += entryKeyStart[n]!;
    const entryKeys = new Uint32Array(keyCount);
    const fill = entryKeyStart.slice(0, count);
    for (let key = 0; key < keyCount; key++) entryKeys[fill[keyEntry[key]!]!++] = key;
    const columns: EntryColumns = { entryKeyStart, entryKeys, kinds, present, capacities, times };
    let bytes = ids.length + records.length + recordStart.byteLength + keys.length + keyStart.byteLength + keyEntry.byteLength;
    for (const column of Object.values(columns)) bytes += column.byteLength;
    return new Snapshot(count, ids, records, recordStart, keys, keyStart, keyEntry, attrKeys, columns, bytes);
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

  /** How many keys a probe finds (entries, counting one per matching value). */
  probeSize(probe: IndexProbe): number {
    return this.probeKeys(probe, Infinity).size;
  }

  /**
   * The keys a probe finds: a range of key numbers, or for `contains` the
   * keys holding the value, found with Buffer#indexOf over the attribute's
   * packed keys (one memory scan, not a test per entry). More than `most` of
   * those, or a density that would reach it, are not listed (size Infinity):
   * the caller walks the entries then.
   */
  probeKeys(probe: IndexProbe, most: number): ProbeKeys {
    if (!probe.contains) {
      const [from, to] = this.probeRange(probe);
      return { size: to - from, from, to };
    }
    const range = this.attrKeys.get(probe.attr);
    if (!range) return { size: 0, keys: [] };
    const keys = this.containing(range, Buffer.from(probe.value), most);
    return keys ? { size: keys.length, keys } : { size: Infinity, keys: [] };
  }

  /** The entries under any of the probes' keys. */
  matching(found: readonly ProbeKeys[]): OrdinalSet {
    const set = new OrdinalSet(this.count);
    const keyEntry = this.keyEntry;
    for (const probe of found) {
      if ('keys' in probe) for (const k of probe.keys) set.add(keyEntry[k]!);
      else for (let k = probe.from; k < probe.to; k++) set.add(keyEntry[k]!);
    }
    return set;
  }

  /** Key numbers in `range` whose key holds `needle` (not across two keys), ascending; undefined past `most`. */
  private containing(range: readonly [number, number], needle: Buffer, most: number): number[] | undefined {
    if (needle.length === 0) return undefined;
    const { keyStart } = this;
    const [first, end] = range;
    const base = keyStart[first]!;
    const region = this.keys.subarray(base, keyStart[end]!);
    const found: number[] = [];
    let k = first;
    let at = 0;
    // Hits that run into the next key cost a search each too: a needle made to straddle every boundary
    // (an address's end and the next one's start) must not hold the loop for a search per key.
    let searches = 0;
    for (;;) {
      if (++searches > 2 * most + DENSITY_SAMPLE) return undefined;
      const hit = region.indexOf(needle, at);
      if (hit < 0) return found;
      // The key holding the hit's first byte: the last one starting at or before it.
      let low = k;
      let high = end - 1;
      while (low < high) {
        const mid = (low + high + 1) >>> 1;
        if (keyStart[mid]! - base <= hit) low = mid;
        else high = mid - 1;
      }
      k = low;
      const keyEnd = keyStart[k + 1]! - base;
      if (hit + needle.length <= keyEnd) {
        found.push(k);
        // Past `most`, or on course to pass it at this density (judged after a few): stop scanning.
        if (found.length > most || (found.length >= DENSITY_SAMPLE && found.length * region.length > most * keyEnd)) return undefined;
        at = keyEnd;
        k++;
        if (k >= end) return found;
      } else {
        // Across the boundary into the next key: not a match; look again from the next byte.
        at = hit + 1;
      }
    }
  }

  /** A reusable view of one entry at a time for filter tests (see EntryView). */
  view(): SnapshotEntryView {
    return new SnapshotEntryView(this, this.attrKeys, this.keys, this.keyStart, this.columns);
  }

  entry(ordinal: number, wanted: readonly boolean[]): PreEncodedEntry {
    return new SnapshotEntry(this, ordinal, this.records, this.recordStart[ordinal]!, this.recordStart[ordinal + 1]!, wanted);
  }

  /** The key numbers a probe finds, [from, to). */
  probeRange(probe: IndexProbe): readonly [number, number] {
    const range = this.attrKeys.get(probe.attr);
    if (!range) return [0, 0];
    const needle = Buffer.from(probe.value);
    // Keys before the needle; then keys up to it (equality) or starting with it (prefix: compared on its length).
    const from = this.lowerBound(range[0], range[1], needle, Infinity, 0);
    const to = this.lowerBound(from, range[1], needle, probe.prefix ? needle.length : Infinity, 1);
    return [from, to];
  }

  /** The first key number in [from, to) whose key, cut to `width` bytes, is not below `needle` (`orEqual`: not at or below it). */
  private lowerBound(from: number, to: number, needle: Buffer, width: number, orEqual: 0 | 1): number {
    const { keys, keyStart } = this;
    let low = from;
    let high = to;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (compareBytes(keys, keyStart[mid]!, keyStart[mid + 1]!, needle, width) < orEqual) low = mid + 1;
      else high = mid;
    }
    return low;
  }
}

/** Keys found by a `contains` scan before their density says whether it will pass its `most`. */
const DENSITY_SAMPLE = 16;

/** The keys one probe finds: a range of key numbers, or a list (a `contains` probe's). */
export type ProbeKeys = { size: number; from: number; to: number } | { size: number; keys: readonly number[] };

/** A set of entry ordinals as a bitmap: gathered in any order, read back ascending. */
export class OrdinalSet {
  private readonly words: Uint32Array;

  constructor(count: number) {
    this.words = new Uint32Array((count + 31) >>> 5);
  }

  add(ordinal: number): void {
    this.words[ordinal >>> 5]! |= 1 << (ordinal & 31);
  }

  /** The smallest member not below `from`, or -1. */
  next(from: number): number {
    const words = this.words;
    let w = from >>> 5;
    if (w >= words.length) return -1;
    let word = words[w]! & (-1 << (from & 31));
    while (word === 0) {
      if (++w >= words.length) return -1;
      word = words[w]!;
    }
    return (w << 5) + 31 - Math.clz32(word & -word);
  }
}

/** A snapshot's entry to send. Its id (a string made from the packed bytes) only when asked: a page's last entry, a merge with changed entries. */
class SnapshotEntry extends RecordEntry {
  constructor(
    private readonly snapshot: Snapshot,
    private readonly ordinal: number,
    records: Buffer,
    start: number,
    end: number,
    wanted: readonly boolean[],
  ) {
    super(records, start, end, wanted);
  }

  get id(): string {
    return this.snapshot.id(this.ordinal);
  }
}

/** One snapshot entry at a time (`at`), read in place: no string is made but for `id()`. */
export class SnapshotEntryView implements EntryView {
  private ordinal = 0;

  private readonly entryKeyStart: Uint32Array;
  private readonly entryKeys: Uint32Array;
  private readonly kinds: Uint8Array;
  private readonly present: Uint32Array;
  private readonly capacities: Int32Array;
  private readonly times: Float64Array;

  constructor(
    private readonly snapshot: Snapshot,
    private readonly attrKeys: ReadonlyMap<MatchKey, readonly [number, number]>,
    private readonly keys: Buffer,
    private readonly keyStart: Uint32Array,
    columns: EntryColumns,
  ) {
    ({ entryKeyStart: this.entryKeyStart, entryKeys: this.entryKeys, kinds: this.kinds, present: this.present, capacities: this.capacities, times: this.times } = columns);
  }

  at(ordinal: number): this {
    this.ordinal = ordinal;
    return this;
  }
  kind(): number {
    return this.kinds[this.ordinal]!;
  }
  has(def: number): boolean {
    return ((this.present[this.ordinal]! >>> def) & 1) === 1;
  }
  capacity(): number {
    return this.capacities[this.ordinal]!;
  }
  seconds(column: 'created_at' | 'updated_at'): number {
    return this.times[this.ordinal * 2 + (column === 'created_at' ? 0 : 1)]!;
  }
  id(): string {
    return this.snapshot.id(this.ordinal);
  }
  someValue(attr: MatchKey, test: (buf: Uint8Array, start: number, end: number) => boolean): boolean {
    const range = this.attrKeys.get(attr);
    if (range === undefined) return false;
    const from = range[0];
    const to = range[1];
    const keys = this.keys;
    const keyStart = this.keyStart;
    const entryKeys = this.entryKeys;
    const end = this.entryKeyStart[this.ordinal + 1]!;
    for (let k = this.entryKeyStart[this.ordinal]!; k < end; k++) {
      const key = entryKeys[k]!;
      // Ascending: the attribute's keys are one run among the entry's.
      if (key >= to) break;
      if (key >= from && test(keys, keyStart[key]!, keyStart[key + 1]!)) return true;
    }
    return false;
  }
}
