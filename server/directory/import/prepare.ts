import { DirectoryFields, type DirectoryKind } from '../../../protocol/index.ts';
import { DmciError } from '../../errors.ts';
import { checkKindColumns, fieldsToColumns, normalizeAliases } from '../directory-fields.ts';
import type { DirectoryEntryUpdate } from '../directory.table.ts';
import type { SourceProblem, SourceRecord } from './source-record.ts';

/** A record that passed validation, bound to its domain, ready for the batch writer. */
export interface PreparedRecord {
  line: number;
  domainId: string;
  /** How the report names it: the email, source key or id. */
  key: string;
  identity: SourceRecord['identity'];
  kind?: DirectoryKind;
  columns: DirectoryEntryUpdate;
  /** Undefined: leave aliases alone. */
  aliases?: string[];
  manager?: string | null;
  members?: string[];
  delete: boolean;
}

/**
 * Validates records exactly as Admin/directory* validates its arguments (the
 * same zod schema and column rules), picks each record's domain, and refuses
 * a second record for the same entry. Returns good records and per-line problems.
 */
export function prepareRecords(
  records: readonly SourceRecord[],
  domains: ReadonlyMap<string, string>,
  forcedDomain: string | undefined,
): { prepared: PreparedRecord[]; problems: SourceProblem[] } {
  const prepared: PreparedRecord[] = [];
  const problems: SourceProblem[] = [];
  const seen = new Map<string, number>();
  for (const record of records) {
    const key = record.identity.email ?? record.identity.sourceKey ?? record.identity.entryId ?? '';
    const fail = (message: string) => problems.push({ line: record.line, message: `${key}: ${message}` });

    const domainName = forcedDomain ?? [record.identity.email?.split('@')[1], record.domainHint].find((d) => d !== undefined && domains.has(d));
    const domainId = domainName === undefined ? undefined : domains.get(domainName);
    if (!domainId) {
      fail(forcedDomain ? `no domain ${forcedDomain}` : 'no dmci domain in its address or DN: pass --domain');
      continue;
    }
    const identityKey = `${domainId} ${key}`;
    const earlier = seen.get(identityKey);
    if (earlier !== undefined) {
      fail(`the same entry as line ${earlier}`);
      continue;
    }
    seen.set(identityKey, record.line);

    if (record.delete) {
      prepared.push({ line: record.line, domainId, key, identity: record.identity, columns: {}, delete: true });
      continue;
    }
    const parsed = DirectoryFields.safeParse(record.fields);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      fail(`${issue.path.map(String).join('.') || 'value'}: ${issue.message}`);
      continue;
    }
    try {
      const columns = fieldsToColumns(parsed.data);
      if (record.kind) checkKindColumns(record.kind, columns);
      if (record.kind !== undefined && record.kind !== 'group' && record.members?.length) throw new Error('only groups have members');
      prepared.push({
        line: record.line,
        domainId,
        key,
        identity: record.identity,
        kind: record.kind,
        columns,
        ...(parsed.data.aliases !== undefined ? { aliases: normalizeAliases(parsed.data.aliases, columns.email) } : {}),
        ...(record.manager !== undefined ? { manager: record.manager } : {}),
        ...(record.members !== undefined ? { members: record.members } : {}),
        delete: false,
      });
    } catch (error) {
      fail(error instanceof DmciError || error instanceof Error ? error.message : String(error));
    }
  }
  return { prepared, problems };
}
