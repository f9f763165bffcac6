/**
 * A small LDIF reader (RFC 2849) for imports. Why our own: the one npm
 * package ("ldif", a single 0.5.1 release) reports no line numbers, and an
 * import must name the line of every bad record. LDIF content records are a
 * small grammar; this reads all of it that a directory export contains:
 *
 * - `version: 1`, `#` comments (folded ones too), CRLF or LF;
 * - folded lines (a line starting with one space continues the previous);
 * - `attr: value`, `attr:: base64` (kept as bytes), attribute options
 *   (`jpegPhoto;binary`) stripped;
 * - change records: `changetype: add` (like a content record) and
 *   `changetype: delete`; `modify`/`modrdn` records and `attr:< URL` values
 *   are reported as errors for that record (reading files named by an import
 *   file is not something an import should do).
 *
 * Errors are per record; a bad record never stops the others.
 */

export type LdifValue = string | Buffer;

export interface LdifRecord {
  /** 1-based line of the record's `dn:` line. */
  line: number;
  dn: string;
  changetype: 'add' | 'delete';
  /** Attribute name (lower-case, options stripped) → values in file order. */
  attributes: Map<string, LdifValue[]>;
}

export interface LdifError {
  line: number;
  message: string;
}

/** Longest logical line accepted (after unfolding): a 100 KiB photo in base64 plus room. */
const MAX_LOGICAL_LINE = 256 * 1024;

export function parseLdif(text: string): { records: LdifRecord[]; errors: LdifError[] } {
  const physical = text.split(/\r?\n/);
  const records: LdifRecord[] = [];
  const errors: LdifError[] = [];

  // Unfold into logical lines, remembering where each started; blank lines separate records.
  type Logical = { line: number; text: string } | { line: number; blank: true };
  const logical: Logical[] = [];
  for (let i = 0; i < physical.length; i++) {
    const raw = physical[i]!;
    if (raw.startsWith(' ') && logical.length > 0) {
      const last = logical[logical.length - 1]!;
      if ('text' in last) {
        if (last.text.length + raw.length > MAX_LOGICAL_LINE) {
          errors.push({ line: last.line, message: `a line longer than ${MAX_LOGICAL_LINE} characters` });
          last.text = '#'; // drop it; the record then reports what is missing
        } else if (!last.text.startsWith('#')) last.text += raw.slice(1);
        continue;
      }
    }
    if (raw.trim() === '') logical.push({ line: i + 1, blank: true });
    else logical.push({ line: i + 1, text: raw });
  }

  let current: { line: number; lines: Array<{ line: number; text: string }> } | undefined;
  const flush = () => {
    if (current && current.lines.length > 0) {
      const parsed = parseRecord(current.lines);
      if ('message' in parsed) errors.push(parsed);
      else records.push(parsed);
    }
    current = undefined;
  };
  let first = true;
  for (const item of logical) {
    if ('blank' in item) {
      flush();
      continue;
    }
    if (item.text.startsWith('#')) continue;
    if (first && /^version:\s*/i.test(item.text)) {
      first = false;
      if (!/^version:\s*1\s*$/i.test(item.text)) errors.push({ line: item.line, message: 'only LDIF version 1 is supported' });
      continue;
    }
    first = false;
    current ??= { line: item.line, lines: [] };
    current.lines.push(item);
  }
  flush();
  return { records, errors };
}

function parseRecord(lines: Array<{ line: number; text: string }>): LdifRecord | LdifError {
  const start = lines[0]!.line;
  const head = parseLine(lines[0]!.text);
  if ('error' in head || head.name !== 'dn') return { line: start, message: 'error' in head ? head.error : 'a record must start with "dn:"' };
  const dn = typeof head.value === 'string' ? head.value : head.value.toString('utf8');
  if (!dn.trim()) return { line: start, message: 'empty dn' };
  const record: LdifRecord = { line: start, dn: dn.trim(), changetype: 'add', attributes: new Map() };
  let i = 1;
  while (i < lines.length && /^control:/i.test(lines[i]!.text)) i++;
  if (i < lines.length && /^changetype:/i.test(lines[i]!.text)) {
    const type = lines[i]!.text.slice('changetype:'.length).trim().toLowerCase();
    if (type === 'delete') {
      record.changetype = 'delete';
      return i + 1 < lines.length ? { line: lines[i + 1]!.line, message: 'a delete record has no attributes' } : record;
    }
    if (type !== 'add') return { line: lines[i]!.line, message: `changetype ${type} is not supported (use full entries, or changetype add/delete)` };
    i++;
  }
  for (; i < lines.length; i++) {
    const { line, text } = lines[i]!;
    const parsed = parseLine(text);
    if ('error' in parsed) return { line, message: parsed.error };
    const values = record.attributes.get(parsed.name);
    if (values) values.push(parsed.value);
    else record.attributes.set(parsed.name, [parsed.value]);
  }
  return record;
}

function parseLine(text: string): { name: string; value: LdifValue } | { error: string } {
  const colon = text.indexOf(':');
  if (colon <= 0) return { error: `not an "attribute: value" line: ${JSON.stringify(text.slice(0, 60))}` };
  const description = text.slice(0, colon);
  if (!/^[A-Za-z0-9][A-Za-z0-9.;-]*$/.test(description)) return { error: `bad attribute name ${JSON.stringify(description.slice(0, 60))}` };
  const name = description.split(';')[0]!.toLowerCase();
  const rest = text.slice(colon + 1);
  if (rest.startsWith(':')) {
    const encoded = rest.slice(1).trim();
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 === 1) return { error: `bad base64 value for ${name}` };
    const bytes = Buffer.from(encoded, 'base64');
    return { name, value: isBinaryAttribute(name) ? bytes : decodeUtf8(bytes) ?? bytes };
  }
  if (rest.startsWith('<')) return { error: `${name}:< (a value read from a URL) is not supported` };
  return { name, value: rest.replace(/^ +/, '') };
}

function isBinaryAttribute(name: string): boolean {
  return name === 'jpegphoto' || name === 'thumbnailphoto' || name === 'photo';
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
