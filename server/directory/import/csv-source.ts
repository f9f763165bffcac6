import { parse } from 'csv-parse/sync';
import type { DirectoryKind } from '../../../protocol/index.ts';
import type { SourceProblem, SourceReadResult, SourceRecord } from './source-record.ts';

/**
 * Reads a CSV import: a header row naming the columns, one entry per row.
 * Column names are matched case-insensitively, ignoring spaces, '_' and '-'.
 * A column that is present and empty clears that attribute; a column that is
 * absent leaves it alone. Unknown or repeated columns stop the whole file
 * (a typo in a header would otherwise silently drop a column).
 */
const COLUMNS: Record<string, string> = {
  email: 'email',
  mail: 'email',
  displayname: 'displayName',
  givenname: 'givenName',
  firstname: 'givenName',
  surname: 'surname',
  lastname: 'surname',
  sn: 'surname',
  title: 'title',
  jobtitle: 'title',
  department: 'department',
  company: 'company',
  office: 'office',
  businessphone: 'businessPhone',
  telephonenumber: 'businessPhone',
  mobilephone: 'mobilePhone',
  mobile: 'mobilePhone',
  manager: 'manager',
  aliases: 'aliases',
  type: 'type',
  kind: 'type',
  hidden: 'hidden',
  capacity: 'capacity',
  location: 'location',
  members: 'members',
  sourcekey: 'sourceKey',
  resourcetype: 'resourceType',
  photo: 'photo',
};
export const CSV_COLUMNS = [...new Set(Object.values(COLUMNS))];

const TEXT_FIELDS = ['displayName', 'givenName', 'surname', 'title', 'department', 'company', 'office', 'businessPhone', 'mobilePhone', 'location', 'photo'];

export function readCsv(text: string): SourceReadResult {
  let rows: Array<{ record: string[]; info: { lines: number } }>;
  try {
    rows = parse(text, { bom: true, info: true, relax_column_count: true, skip_empty_lines: true, trim: true }) as unknown as typeof rows;
  } catch (error) {
    const e = error as { lines?: number; message: string };
    return { records: [], problems: [], fatal: { line: e.lines ?? 1, message: `not valid CSV: ${e.message}` } };
  }
  if (rows.length === 0) return { records: [], problems: [], fatal: { line: 1, message: 'the file is empty: a CSV import needs a header row' } };

  const header = rows[0]!.record.map((name) => name.toLowerCase().replace(/[\s_-]/g, ''));
  const columns: string[] = [];
  for (const [i, name] of header.entries()) {
    const column = COLUMNS[name];
    if (!column) {
      return { records: [], problems: [], fatal: { line: 1, message: `unknown column ${JSON.stringify(rows[0]!.record[i])} (known: ${CSV_COLUMNS.join(', ')})` } };
    }
    if (columns.includes(column)) return { records: [], problems: [], fatal: { line: 1, message: `column ${column} appears twice` } };
    columns.push(column);
  }
  if (!columns.includes('email') && !columns.includes('sourceKey')) {
    return { records: [], problems: [], fatal: { line: 1, message: 'a CSV import needs an email or a sourceKey column to know which entry each row is' } };
  }

  const records: SourceRecord[] = [];
  const problems: SourceProblem[] = [];
  for (const { record: cells, info } of rows.slice(1)) {
    // info.lines is where the record ends; quoted cells may span lines.
    const line = info.lines - cells.reduce((n, cell) => n + (cell.match(/\n/g)?.length ?? 0), 0);
    if (cells.length !== columns.length) {
      problems.push({ line, message: `${cells.length} cells, but the header has ${columns.length} columns` });
      continue;
    }
    const result = toRecord(line, columns, cells);
    if ('message' in result) problems.push(result);
    else records.push(result);
  }
  return { records, problems };
}

function toRecord(line: number, columns: string[], cells: string[]): SourceRecord | SourceProblem {
  const record: SourceRecord = { line, identity: {}, fields: {} };
  for (const [i, column] of columns.entries()) {
    const value = cells[i]!;
    if (column === 'displayName') {
      // A name cannot be cleared: an empty cell leaves it (or, for a new entry, derives it from the given name and surname).
      if (value !== '') record.fields.displayName = value;
    } else if (TEXT_FIELDS.includes(column)) record.fields[column] = value === '' ? null : value;
    else if (column === 'email') {
      if (value) {
        record.identity.email = value.toLowerCase();
        record.fields.email = value;
      }
    } else if (column === 'sourceKey') {
      if (value) {
        record.identity.sourceKey = value;
        record.fields.sourceKey = value;
      }
    } else if (column === 'aliases') record.fields.aliases = splitList(value);
    else if (column === 'members') record.members = splitList(value);
    else if (column === 'manager') record.manager = value === '' ? null : value;
    else if (column === 'hidden') {
      if (value !== '') {
        const flag = parseBool(value);
        if (flag === undefined) return { line, message: `hidden must be true or false, not ${JSON.stringify(value)}` };
        record.fields.hidden = flag;
      }
    } else if (column === 'capacity') {
      if (value === '') record.fields.capacity = null;
      else if (!/^\d{1,7}$/.test(value)) return { line, message: `capacity must be a whole number, not ${JSON.stringify(value)}` };
      else record.fields.capacity = Number(value);
    } else if (column === 'resourceType') record.fields.resourceType = value === '' ? null : value.toLowerCase();
    else if (column === 'type' && value !== '') {
      const kind = parseKind(value);
      if (!kind) return { line, message: `type must be person, contact, group, room, equipment or resource, not ${JSON.stringify(value)}` };
      record.kind = kind.kind;
      if (kind.resourceType) record.fields.resourceType ??= kind.resourceType;
    }
  }
  if (!record.identity.email && !record.identity.sourceKey) return { line, message: 'the row has neither an email nor a sourceKey' };
  return record;
}

function splitList(value: string): string[] {
  return value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean);
}

function parseBool(value: string): boolean | undefined {
  const v = value.toLowerCase();
  if (['true', 'yes', '1', 'y'].includes(v)) return true;
  if (['false', 'no', '0', 'n'].includes(v)) return false;
  return undefined;
}

export function parseKind(value: string): { kind: DirectoryKind; resourceType?: 'room' | 'equipment' } | undefined {
  switch (value.toLowerCase().replace(/[\s_-]/g, '')) {
    case 'person':
    case 'contact':
    case 'user':
      return { kind: 'person' };
    case 'group':
    case 'list':
    case 'distributionlist':
      return { kind: 'group' };
    case 'resource':
      return { kind: 'resource' };
    case 'room':
      return { kind: 'resource', resourceType: 'room' };
    case 'equipment':
      return { kind: 'resource', resourceType: 'equipment' };
    default:
      return undefined;
  }
}
