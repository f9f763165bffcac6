import { DmciError } from '../../errors.ts';
import type { Db } from '../../db/database.ts';
import { checkKindColumns } from '../directory-fields.ts';
import {
  addressOwners,
  aliasesOf,
  dependentsOf,
  findEntriesByAddresses,
  findEntriesByIds,
  findEntriesBySourceKeys,
  insertEntries,
  membersOf,
  replaceAliases,
  replaceMembers,
  stampEntries,
  tombstoneEntry,
  updateEntry,
  wouldCloseCycle,
  type EntryRow,
} from '../directory.repository.ts';
import type { DirectoryEntryUpdate, NewDirectoryEntryRow } from '../directory.table.ts';
import { refreshSearchTerms } from '../search/search-terms.ts';
import { normalizeDn, readDn } from './dn.ts';
import type { PreparedRecord } from './prepare.ts';

export type LineAction = 'create' | 'update' | 'unchanged' | 'delete' | 'error';

export interface LineResult {
  line: number;
  key: string;
  action: LineAction;
  message?: string;
  /** Set once the record's entry exists (for the reference pass). */
  entryId?: string;
}

/** Columns compared to decide whether a record changes its entry. */
const COMPARED = [
  'display_name', 'email', 'given_name', 'surname', 'title', 'department', 'company', 'office', 'business_phone', 'mobile_phone',
  'hidden', 'resource_type', 'capacity', 'location', 'source_key', 'photo_etag',
] as const;

/** Finds the live entries the records name, by email (or alias), source key or id. */
async function matchEntries(db: Db, domainId: string, records: readonly PreparedRecord[]): Promise<Map<PreparedRecord, EntryRow>> {
  const emails = records.flatMap((r) => (r.identity.email ? [r.identity.email] : []));
  const keys = records.flatMap((r) => (r.identity.sourceKey ? [r.identity.sourceKey] : []));
  const ids = records.flatMap((r) => (r.identity.entryId ? [r.identity.entryId] : []));
  const byAddress = new Map<string, EntryRow>();
  const rows = await findEntriesByAddresses(db, domainId, emails);
  const aliasMap = await aliasesOf(db, rows.map((r) => r.id));
  for (const row of rows) {
    if (row.email) byAddress.set(row.email, row);
    for (const alias of aliasMap.get(row.id) ?? []) if (!byAddress.has(alias)) byAddress.set(alias, row);
  }
  const byKey = new Map((await findEntriesBySourceKeys(db, domainId, keys)).map((r) => [r.source_key!, r]));
  const byId = new Map((await findEntriesByIds(db, domainId, ids, { visibleOnly: false })).map((r) => [r.id, r]));
  const result = new Map<PreparedRecord, EntryRow>();
  for (const record of records) {
    const { email, sourceKey, entryId } = record.identity;
    const row = (email && byAddress.get(email)) || (sourceKey && byKey.get(sourceKey)) || (entryId && byId.get(entryId)) || undefined;
    if (row) result.set(record, row);
  }
  return result;
}

/**
 * Pass 1 for one batch of one domain, inside a transaction that bumped the
 * domain's GAL scope to `modseq`: creates, updates or deletes entries with
 * their attributes and aliases. New rows go in with one INSERT, and the
 * search terms of the batch's changed entries are refreshed once. A record
 * that breaks a rule (an address another entry holds, a kind change, an
 * account's entry deleted) gets an error line and writes nothing.
 */
export async function applyAttributes(db: Db, domainId: string, modseq: number, records: readonly PreparedRecord[]): Promise<{ results: LineResult[]; changed: boolean }> {
  const matches = await matchEntries(db, domainId, records);
  const currentAliases = await aliasesOf(db, [...matches.values()].map((r) => r.id));
  const addresses = records.flatMap((r) => [r.columns.email, ...(r.aliases ?? [])].filter((a): a is string => Boolean(a)));
  const owners = await addressOwners(db, domainId, addresses);
  const claimed = new Map<string, PreparedRecord>();
  const results: LineResult[] = [];
  const inserts: Array<{ record: PreparedRecord; row: NewDirectoryEntryRow; result: LineResult }> = [];
  let changed = false;
  const stale = new Set<string>();

  for (const record of records) {
    const result: LineResult = { line: record.line, key: record.key, action: 'unchanged' };
    results.push(result);
    const row = matches.get(record);
    const fail = (message: string) => Object.assign(result, { action: 'error', message });
    if (record.delete) {
      if (!row) continue;
      if (row.account_id) {
        fail("an account's entry cannot be deleted: disable the account");
        continue;
      }
      const dependents = await dependentsOf(db, row.id);
      await tombstoneEntry(db, row.id, modseq, stale);
      await stampEntries(db, dependents, modseq);
      result.action = 'delete';
      changed = true;
      continue;
    }
    const kind = record.kind ?? row?.kind ?? 'person';
    if (row && record.kind && record.kind !== row.kind) {
      fail(`is a ${row.kind} in the GAL, the file says ${record.kind}`);
      continue;
    }
    const columns: DirectoryEntryUpdate = { ...record.columns };
    if (row?.account_id) {
      // An account's address and name follow the account.
      delete columns.email;
      delete columns.display_name;
    }
    if (!row && !columns.display_name) {
      const name = [columns.given_name, columns.surname].filter(Boolean).join(' ');
      if (!name) {
        fail('a new entry needs a displayName (or a given name and surname)');
        continue;
      }
      columns.display_name = name;
    }
    try {
      checkKindColumns(kind, { ...row, ...columns });
    } catch (error) {
      fail((error as Error).message);
      continue;
    }
    const wanted = [columns.email === undefined ? row?.email : columns.email, ...(record.aliases ?? currentAliases.get(row?.id ?? '') ?? [])].filter(
      (a): a is string => Boolean(a),
    );
    const conflict = wanted.find((a) => {
      const owner = owners.get(a);
      const claimer = claimed.get(a);
      return (owner !== undefined && owner !== row?.id) || (claimer !== undefined && claimer !== record);
    });
    if (conflict) {
      const claimer = claimed.get(conflict);
      fail(claimer ? `${conflict} is also claimed by line ${claimer.line}` : `${conflict} already names another directory entry`);
      continue;
    }
    for (const address of wanted) claimed.set(address, record);

    if (!row) {
      inserts.push({
        record,
        result,
        row: {
          ...(columns as object),
          // A new entry remembers the identity it was imported under (an LDIF DN), so a re-import finds it.
          source_key: columns.source_key ?? record.identity.sourceKey ?? null,
          domain_id: domainId,
          kind,
          account_id: null,
          modseq,
          created_modseq: modseq,
          deleted_at: null,
        } as NewDirectoryEntryRow,
      });
      result.action = 'create';
      changed = true;
      continue;
    }
    result.entryId = row.id;
    const diff: DirectoryEntryUpdate = {};
    for (const column of COMPARED) {
      const next = columns[column];
      if (next !== undefined && (next ?? null) !== (row[column] ?? null)) Object.assign(diff, { [column]: next });
    }
    if (diff.photo_etag !== undefined) Object.assign(diff, { photo: columns.photo, photo_type: columns.photo_type });
    if (columns.common_names !== undefined && JSON.stringify(columns.common_names ?? null) !== JSON.stringify(row.common_names ?? null)) diff.common_names = columns.common_names;
    const aliasesChanged = record.aliases !== undefined && record.aliases.join('\n') !== (currentAliases.get(row.id) ?? []).join('\n');
    if (Object.keys(diff).length === 0 && !aliasesChanged) continue;
    await updateEntry(db, row.id, diff, modseq, stale);
    if (aliasesChanged) await replaceAliases(db, domainId, row.id, record.aliases!, stale);
    if (diff.hidden !== undefined) await stampEntries(db, await dependentsOf(db, row.id), modseq);
    result.action = 'update';
    changed = true;
  }

  await refreshSearchTerms(db, [...stale]);
  if (inserts.length > 0) {
    const ids = await insertEntries(db, inserts.map((i) => ({ row: i.row, aliases: i.record.aliases ?? [] })));
    inserts.forEach((insert, n) => (insert.result.entryId = ids[n]));
  }
  return { results, changed };
}

/** Resolves references (an email or alias, a DN, a source key) to entry ids of the domain. */
async function resolveRefs(db: Db, domainId: string, refs: readonly string[]): Promise<Map<string, EntryRow>> {
  const parsed = refs.map((ref) => {
    if (!ref.includes('=') && ref.includes('@')) return { ref, email: ref.toLowerCase() };
    if (!ref.includes('=')) return { ref, sourceKey: ref };
    const dn = readDn(ref);
    return { ref, email: dn.email, entryId: dn.entryId, sourceKey: dn.email ? undefined : normalizeDn(ref) };
  });
  const records = parsed.map((p) => ({ identity: { email: p.email, sourceKey: p.sourceKey, entryId: p.entryId } }) as PreparedRecord);
  const matches = await matchEntries(db, domainId, records);
  const result = new Map<string, EntryRow>();
  parsed.forEach((p, i) => {
    const row = matches.get(records[i]!);
    if (row) result.set(p.ref, row);
  });
  return result;
}

/**
 * Pass 2 for one batch: managers and group members, once every entry of the
 * file exists (a manager may come later in the file than the people it
 * manages). A reference that names nothing, a manager that is not a person,
 * or members that would close a cycle give an error line.
 */
export async function applyReferences(
  db: Db,
  domainId: string,
  modseq: number,
  items: ReadonlyArray<{ record: PreparedRecord; result: LineResult }>,
): Promise<boolean> {
  const refs = [...new Set(items.flatMap(({ record }) => [...(record.manager ? [record.manager] : []), ...(record.members ?? [])]))];
  const resolved = await resolveRefs(db, domainId, refs);
  const entries = new Map((await findEntriesByIds(db, domainId, items.map((i) => i.result.entryId!), { visibleOnly: false })).map((r) => [r.id, r]));
  const groupIds = items.filter(({ record }) => record.members !== undefined).map((i) => i.result.entryId!);
  const currentMembers = await membersOf(db, groupIds, { visibleOnly: false });
  const visibleMembers = await membersOf(db, groupIds, { visibleOnly: true });
  let changed = false;
  for (const { record, result } of items) {
    const entry = entries.get(result.entryId!);
    if (!entry) continue;
    const fail = (message: string) => Object.assign(result, { action: 'error' as const, message: result.action === 'create' || result.action === 'update' ? `attributes imported, but ${message}` : message });
    let touched = false;
    // Files (our own export included) never show hidden entries, so a hidden manager or
    // member is not missing from the file: an import keeps it rather than dropping it.
    const hiddenManager = entry.manager_id !== null && entry.visible_manager_id === null;
    if (record.manager !== undefined && !(record.manager === null && hiddenManager)) {
      const manager = record.manager === null ? null : resolved.get(record.manager);
      if (manager === undefined) fail(`manager ${record.manager} names no entry`);
      else if (manager && (manager.kind !== 'person' || manager.id === entry.id)) fail(`manager ${record.manager} must be another person`);
      else if ((manager?.id ?? null) !== entry.manager_id) {
        await updateEntry(db, entry.id, { manager_id: manager?.id ?? null }, modseq);
        touched = true;
      }
    }
    if (record.members !== undefined && result.action !== 'error') {
      const missing = record.members.filter((m) => !resolved.has(m));
      const shown = new Set(visibleMembers.get(entry.id) ?? []);
      const hidden = (currentMembers.get(entry.id) ?? []).filter((id) => !shown.has(id));
      const memberIds = [...new Set([...record.members.flatMap((m) => (resolved.has(m) ? [resolved.get(m)!.id] : [])), ...hidden])];
      if (entry.kind !== 'group') {
        if (record.members.length > 0) fail('only groups have members');
      }
      else if (missing.length > 0) fail(`member${missing.length > 1 ? 's' : ''} ${missing.slice(0, 3).join(', ')} name${missing.length > 1 ? '' : 's'} no entry`);
      else if ([...memberIds].sort().join() !== [...(currentMembers.get(entry.id) ?? [])].sort().join()) {
        if (await wouldCloseCycle(db, entry.id, memberIds)) fail('its members would make a group contain itself');
        else {
          await replaceMembers(db, entry.id, memberIds);
          await updateEntry(db, entry.id, {}, modseq);
          touched = true;
        }
      }
    }
    if (touched) {
      changed = true;
      if (result.action === 'unchanged') result.action = 'update';
    }
  }
  return changed;
}

export function errorMessage(error: unknown): string {
  return error instanceof DmciError ? error.message : `database refused it: ${(error as Error).message}`;
}
