import { FrameDecodeError } from './codec.ts';
import { DirectoryEntry, type DirectoryChangesPage, type DirectoryChangesWire, type DirectoryEntryColumns, type EntryColumn } from './methods/directory.ts';

/**
 * GAL entries by column: the wire form of Directory/changes pages and GAL
 * pushes (docs/protocol.md §Directory, "Entry columns"). The server packs,
 * a client unpacks; both read the field list from the one DirectoryEntry
 * schema, so they cannot drift.
 *
 * Why columns: a page of 5,000 entries as maps repeats 22 keys 5,000 times
 * and decodes each repeated department, title or timestamp again; by column
 * the keys go once, a field nobody on the page has is left out, and a column
 * of few distinct strings goes as a dictionary (each decoded once, then an
 * index of 1–3 bytes per entry). Measured in docs/decisions.md.
 */

type Field = keyof DirectoryEntry;
const FIELDS = Object.keys(DirectoryEntry.shape) as Field[];

/** What an absent column stands for: the field's empty value. */
function emptyOf(field: Field): unknown {
  if (field === 'aliases') return []; // a fresh array per entry: callers may change one entry's list
  if (field === 'isAccount') return false;
  return null;
}
const isEmpty = (field: Field, value: unknown): boolean =>
  value === null || (field === 'isAccount' && value === false) || (field === 'aliases' && (value as unknown[]).length === 0);

/** Fields every entry has a value of (not nullable): their column is never absent from a non-empty page. */
const REQUIRED = FIELDS.filter((field) => field !== 'aliases' && field !== 'isAccount' && !DirectoryEntry.shape[field].safeParse(null).success);

/** Entries → columns. Columns whose every value is empty are left out; string columns of few distinct values become dictionaries. */
export function packEntries(entries: readonly DirectoryEntry[]): DirectoryEntryColumns {
  return packColumns(entries.length, (field) => entries.map((entry) => entry[field]));
}

/**
 * `count` entries given field by field → columns: `valuesOf(field)` returns
 * that field of every entry, in entry order (a server renders its rows
 * straight into columns this way, without an object per entry).
 */
export function packColumns(count: number, valuesOf: <F extends Field>(field: F) => DirectoryEntry[F][]): DirectoryEntryColumns {
  const columns: Record<string, EntryColumn<unknown>> = {};
  for (const field of FIELDS) {
    const values = valuesOf(field);
    if (values.length !== count) throw new RangeError(`${values.length} values of ${field} for ${count} entries`);
    if (values.every((value) => isEmpty(field, value))) continue;
    columns[field] = dictionaryOf(values) ?? values;
  }
  return { count, columns: columns as DirectoryEntryColumns['columns'] };
}

/**
 * A dictionary column when the values are strings (or null) and at most half
 * of them distinct: then it is smaller (an index of 1–3 bytes per repeat
 * instead of the string) and faster to decode (each distinct string once).
 * Otherwise undefined: the column goes as plain values.
 */
function dictionaryOf(values: readonly unknown[]): { values: string[]; index: (number | null)[] } | undefined {
  const most = values.length / 2;
  const indexOf = new Map<string, number>();
  const index = new Array<number | null>(values.length);
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value === null) {
      index[i] = null;
      continue;
    }
    if (typeof value !== 'string') return undefined;
    let k = indexOf.get(value);
    if (k === undefined) {
      if (indexOf.size + 1 > most) return undefined;
      k = indexOf.size;
      indexOf.set(value, k);
    }
    index[i] = k;
  }
  return { values: [...indexOf.keys()], index };
}

/** Columns → entries (objects with every field, in the schema's order). Throws FrameDecodeError when the columns do not fit together. */
export function unpackEntries(packed: DirectoryEntryColumns): DirectoryEntry[] {
  const { count } = packed;
  const given = packed.columns as Record<string, EntryColumn<unknown> | undefined>;
  if (!Number.isSafeInteger(count) || count < 0) throw malformed('count is not a count');
  if (count > 0) for (const field of REQUIRED) if (given[field] === undefined) throw malformed(`the column ${field} is missing`);
  const columns = FIELDS.map((field) => valuesOf(field, given[field], count));
  const entries = new Array<DirectoryEntry>(count);
  for (let i = 0; i < count; i++) {
    const entry: Record<string, unknown> = {};
    for (let f = 0; f < FIELDS.length; f++) {
      const values = columns[f];
      entry[FIELDS[f]!] = values === undefined ? emptyOf(FIELDS[f]!) : values[i];
    }
    entries[i] = entry as DirectoryEntry;
  }
  return entries;
}

/** A column's values, one per entry (a dictionary resolved); undefined for an absent column. */
function valuesOf(field: Field, column: EntryColumn<unknown> | undefined, count: number): readonly unknown[] | undefined {
  if (column === undefined) return undefined;
  if (Array.isArray(column)) {
    if (column.length !== count) throw malformed(`the column ${field} has ${column.length} values for ${count} entries`);
    return column;
  }
  const { values, index } = column as { values: unknown[]; index: unknown[] };
  if (!Array.isArray(values) || !Array.isArray(index) || index.length !== count) throw malformed(`the column ${field} is not a dictionary of ${count} entries`);
  return index.map((k) => {
    if (k === null) return null;
    if (typeof k !== 'number' || !(k >= 0 && k < values.length)) throw malformed(`the column ${field} has an index outside its dictionary`);
    return values[k];
  });
}

const malformed = (why: string) => new FrameDecodeError(`malformed GAL entry columns: ${why}`);

/** A page with entries as objects → the wire form. */
export function packChangesPage(page: DirectoryChangesPage): DirectoryChangesWire {
  return { ...page, created: packEntries(page.created), updated: packEntries(page.updated) };
}

/** The wire form → a page with entries as objects. */
export function unpackChangesPage(page: DirectoryChangesWire): DirectoryChangesPage {
  return { ...page, created: unpackEntries(page.created), updated: unpackEntries(page.updated) };
}
