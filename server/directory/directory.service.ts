import {
  DirectoryLimits,
  ErrorCode,
  type AdminDirectoryEntry,
  type Encoded,
  type DirectoryEntry,
  type DirectoryFields,
  type DirectoryKind,
  type MethodArgs,
  type MethodResult,
} from '../../protocol/index.ts';
import { findAccountById } from '../accounts/account.repository.ts';
import { requireAdmin, requireDomainAdminOf, requireDomainNamed, requireMayGrant, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import { findDomainById, findDomainByName } from '../domains/domain.repository.ts';
import { DmciError, forbidden, notFound } from '../errors.ts';
import { galScope } from '../sync/scope-id.ts';
import type { ScopePublisher } from '../sync/scope-write.ts';
import { encodeState } from '../sync/state-token.ts';
import { readScope } from '../sync/sync-scope.repository.ts';
import { galChanges } from './directory-changes.ts';
import { checkKindColumns, fieldsToColumns, normalizeAliases } from './directory-fields.ts';
import {
  addressOwners,
  aliasesOf,
  countEntries,
  dependentsOf,
  findByDisplayName,
  findEntriesByIds,
  findEntryByAddress,
  findEntryById,
  findEntryBySourceKey,
  findPhotos,
  insertEntry,
  membersOf,
  replaceAliases,
  replaceMembers,
  searchEntries,
  stampEntries,
  tombstoneEntry,
  updateEntry,
  wouldCloseCycle,
  type EntryRow,
} from './directory.repository.ts';
import { toAdminEntry, toDirectoryEntry } from './directory.mapper.ts';
import { decodeQueryCursor, encodeQueryCursor } from './query-cursor.ts';
import { expandGroup } from './group-expansion.ts';
import { writeGal } from './gal-write.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { GalSnapshotPages } from './gal-snapshot-pages.ts';

/**
 * The GAL: reads for every account of a domain (its own domain only), writes
 * for domain admins (their domain) and global admins (all). Readers never see
 * hidden entries, disabled accounts or tombstones. Every write goes through
 * writeGal (bump first, stamp, tombstone, publish after commit).
 */
export class DirectoryService {
  constructor(
    private readonly db: Db,
    private readonly publish: ScopePublisher,
    /** Full-sync pages shared by the domain's readers (none: every page read for its request). */
    private readonly snapshots?: GalSnapshotPages,
  ) {}

  // ---- reading (Directory/*) ----

  /** A page of the caller's GAL, in its wire form (entries by column); a full sync's page encoded already. */
  async changes(actor: Actor, args: MethodArgs<'Directory/changes'>): Promise<MethodResult<'Directory/changes'> | Encoded<MethodResult<'Directory/changes'>>> {
    return galChanges(this.db, readerDomain(actor), args.sinceState, args.maxChanges, this.snapshots ? { snapshots: this.snapshots } : {});
  }

  async get(actor: Actor, ids: readonly string[]): Promise<MethodResult<'Directory/get'>> {
    const domainId = readerDomain(actor);
    const state = await readScope(this.db, galScope(domainId));
    const rows = await findEntriesByIds(this.db, domainId, ids, { visibleOnly: true });
    const entries = new Map((await this.toEntries(rows)).map((entry) => [entry.id, entry]));
    // In the order asked; the list ends early before the entry that would pass maxAnswerBytes.
    const list: DirectoryEntry[] = [];
    const notFound: string[] = [];
    const bytes = new AnswerBudget();
    let hasMore = false;
    for (const id of new Set(ids)) {
      const entry = entries.get(id);
      if (!entry) notFound.push(id);
      else if (bytes.fits(entry)) list.push(entry);
      else {
        hasMore = true;
        break;
      }
    }
    return { state: encodeState(state?.modseq ?? 0), list, notFound, hasMore };
  }

  async getPhotos(actor: Actor, ids: readonly string[]): Promise<MethodResult<'Directory/getPhotos'>> {
    const domainId = readerDomain(actor);
    const rows = await findPhotos(this.db, domainId, ids);
    const found = new Set(rows.map((r) => r.id));
    return {
      photos: rows.map((r) => ({ id: r.id, type: r.photo_type!, etag: r.photo_etag!, data: new Uint8Array(r.photo!) })),
      notFound: [...new Set(ids)].filter((id) => !found.has(id)),
    };
  }

  async query(actor: Actor, args: MethodArgs<'Directory/query'>): Promise<MethodResult<'Directory/query'>> {
    const domainId = readerDomain(actor);
    const search = {
      domainId,
      prefix: normalizeText(args.text ?? ''),
      kinds: args.kinds,
      after: args.after === undefined ? undefined : decodeQueryCursor(args.after),
      offset: args.after === undefined ? args.position : 0,
      limit: args.limit,
    };
    const page = await searchEntries(this.db, search);
    const entries = new AnswerBudget().prefix(await this.toEntries(page.rows));
    const hasMore = page.hasMore || entries.length < page.rows.length;
    const last = page.rows[entries.length - 1];
    return {
      entries,
      position: search.offset,
      hasMore,
      ...(hasMore && last ? { nextCursor: encodeQueryCursor(last.sort_name, last.id) } : {}),
      ...(args.calculateTotal ? { total: await countEntries(this.db, search) } : {}),
    };
  }

  /**
   * "Check names": a full email address or alias → that entry; else an exact
   * display name (one → exact, several → ambiguous); else a prefix search
   * (one match → exact, several → ambiguous, none → notFound).
   */
  async resolve(actor: Actor, args: MethodArgs<'Directory/resolve'>): Promise<MethodResult<'Directory/resolve'>> {
    const domainId = readerDomain(actor);
    const results: MethodResult<'Directory/resolve'>['results'] = [];
    // One answer for every name: past maxAnswerBytes the call is refused, except that a group's members end early (truncated).
    const bytes = new AnswerBudget();
    const advice = 'resolve fewer names at once';
    for (const name of args.names) {
      const match = await this.resolveOne(domainId, name, args.kinds, args.maxCandidates);
      let result: (typeof results)[number];
      if (match.status === 'exact') {
        result = { name, status: 'exact', entry: (await this.toEntries([match.row]))[0]! };
        bytes.charge(result, advice);
        if (args.expandGroups && match.row.kind === 'group') {
          const expansion = await expandGroup(this.db, domainId, match.row.id, args.maxMembers);
          const members = await this.toEntries(expansion.rows);
          result.members = bytes.prefix(members);
          result.truncated = expansion.truncated || result.members.length < members.length;
        }
      } else {
        result = match.status === 'ambiguous' ? { name, status: 'ambiguous', candidates: await this.toEntries(match.rows) } : { name, status: 'notFound' };
        bytes.charge(result, advice);
      }
      results.push(result);
    }
    return { results };
  }

  private async resolveOne(
    domainId: string,
    typed: string,
    kinds: readonly DirectoryKind[] | undefined,
    maxCandidates: number,
  ): Promise<{ status: 'exact'; row: EntryRow } | { status: 'ambiguous'; rows: EntryRow[] } | { status: 'notFound' }> {
    const text = normalizeText(typed);
    if (!text) return { status: 'notFound' };
    // "Ann Smith <ann@example.com>" and bare addresses resolve by address.
    const address = /<([^<>\s]+@[^<>\s]+)>$/.exec(text)?.[1] ?? (/^[^\s@]+@[^\s@]+$/.test(text) ? text : undefined);
    if (address) {
      const row = await findEntryByAddress(this.db, domainId, address, { visibleOnly: true });
      if (row && (!kinds || kinds.includes(row.kind))) return { status: 'exact', row };
    }
    const named = await findByDisplayName(this.db, domainId, text, kinds, maxCandidates + 1);
    if (named.length === 1) return { status: 'exact', row: named[0]! };
    if (named.length > 1) return { status: 'ambiguous', rows: named.slice(0, maxCandidates) };
    const page = await searchEntries(this.db, { domainId, prefix: text, kinds, offset: 0, limit: maxCandidates });
    if (page.rows.length === 1 && !page.hasMore) return { status: 'exact', row: page.rows[0]! };
    if (page.rows.length > 0) return { status: 'ambiguous', rows: page.rows };
    return { status: 'notFound' };
  }

  /** Rows → reader entries, with aliases (unless the rows carry them, as searchEntries' do) and visible members loaded in a query each. */
  private async toEntries(rows: ReadonlyArray<EntryRow & { aliases?: string[] }>): Promise<DirectoryEntry[]> {
    const carried = rows.every((row) => row.aliases !== undefined);
    const aliases = carried ? new Map(rows.map((row) => [row.id, row.aliases!])) : await aliasesOf(this.db, rows.map((r) => r.id));
    const members = await membersOf(this.db, rows.filter((r) => r.kind === 'group').map((r) => r.id), { visibleOnly: true });
    const total = [...members.values()].reduce((n, list) => n + list.length, 0);
    if (total > DirectoryLimits.maxMemberIdsPerResponse) {
      throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `these groups have ${total} members together, more than ${DirectoryLimits.maxMemberIdsPerResponse} in one answer: ask for fewer`, {
        details: { limit: DirectoryLimits.maxMemberIdsPerResponse, actual: total },
      });
    }
    return rows.map((row) => toDirectoryEntry(row, aliases.get(row.id) ?? [], members.get(row.id)));
  }

  // ---- administration (Admin/directory*): every change recorded in the audit log, in its transaction ----

  async adminGet(actor: Actor, id: string): Promise<AdminDirectoryEntry> {
    const row = await this.requireManageable(actor, id, 'read');
    return this.toAdmin(this.db, row);
  }

  /** `accounts` (the console's people and contacts tabs): only entries with (true) or without (false) an account. */
  async adminList(actor: Actor, args: MethodArgs<'Admin/directoryList'>, options: { accounts?: boolean } = {}): Promise<MethodResult<'Admin/directoryList'>> {
    const domain = await this.manageableDomain(actor, args.domain);
    const page = await searchEntries(this.db, {
      ...options,
      domainId: domain.id,
      prefix: '',
      kinds: args.kinds,
      after: args.after === undefined ? undefined : decodeQueryCursor(args.after),
      offset: 0,
      limit: args.limit,
      includeHidden: true,
    });
    const entries = new AnswerBudget().prefix(await Promise.all(page.rows.map((row) => this.toAdmin(this.db, row, domain.name))));
    const last = page.rows[entries.length - 1];
    return { entries, ...((page.hasMore || entries.length < page.rows.length) && last ? { nextCursor: encodeQueryCursor(last.sort_name, last.id) } : {}) };
  }

  async adminCreate(actor: Actor, args: MethodArgs<'Admin/directoryCreate'>): Promise<MethodResult<'Admin/directoryCreate'>> {
    const domain = await this.manageableDomain(actor, args.domain);
    if (args.memberIds?.length && args.kind !== 'group') throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'only groups have members');
    const columns = fieldsToColumns(args.fields);
    checkKindColumns(args.kind, columns);
    return writeGal(this.db, this.publish, domain.id, async (trx, modseq) => {
      if (args.ifNotExists) {
        // Checked under the scope lock: a retry racing its original still finds one entry.
        const existing =
          (columns.email ? await findEntryByAddress(trx, domain.id, columns.email, { visibleOnly: false }) : undefined) ??
          (columns.source_key ? await findEntryBySourceKey(trx, domain.id, columns.source_key) : undefined);
        if (existing && existing.kind === args.kind) throw new ExistingEntry(await this.toAdmin(trx, existing, domain.name));
      }
      const aliases = normalizeAliases(args.fields.aliases ?? [], columns.email);
      await requireAddressesFree(trx, domain.id, [columns.email, ...aliases], undefined);
      if (columns.source_key && (await findEntryBySourceKey(trx, domain.id, columns.source_key))) {
        throw new DmciError(ErrorCode.ALREADY_EXISTS, `an entry with source key ${columns.source_key} already exists`);
      }
      if (columns.manager_id) await requireManager(trx, domain.id, columns.manager_id, undefined);
      const id = await insertEntry(trx, {
        ...columns,
        display_name: args.fields.displayName,
        domain_id: domain.id,
        kind: args.kind,
        account_id: null,
        modseq,
        created_modseq: modseq,
        deleted_at: null,
      } as Parameters<typeof insertEntry>[1]);
      await replaceAliases(trx, domain.id, id, aliases);
      if (args.memberIds?.length) {
        await requireMembers(trx, domain.id, args.memberIds);
        await replaceMembers(trx, id, args.memberIds);
      }
      const entry = await this.toAdmin(trx, (await findEntryById(trx, id))!, domain.name);
      await recordAudit(trx, actor, { action: 'directory.create', target: entry.id, domainId: domain.id, after: entry });
      return { entry, created: true };
    }).catch((error: unknown) => {
      // Nothing was written: the transaction rolled back and the scope did not move.
      if (error instanceof ExistingEntry) return { entry: error.entry, created: false };
      throw error;
    });
  }

  async adminUpdate(actor: Actor, id: string, fields: DirectoryFields, ifVersion?: number): Promise<AdminDirectoryEntry> {
    const before = await this.requireManageable(actor, id);
    const columns = fieldsToColumns(fields);
    return writeGal(this.db, this.publish, before.domain_id, async (trx, modseq) => {
      const current = await this.lockedEntry(trx, id, ifVersion);
      if (current.account_id && (columns.email !== undefined || columns.display_name !== undefined)) {
        throw new DmciError(ErrorCode.INVALID_ARGUMENTS, "an account's email and display name follow the account: change them with Admin/accountUpdate");
      }
      checkKindColumns(current.kind, { ...current, ...columns });
      const email = columns.email === undefined ? current.email : columns.email;
      const aliases = fields.aliases === undefined ? undefined : normalizeAliases(fields.aliases, email);
      await requireAddressesFree(trx, current.domain_id, [columns.email, ...(aliases ?? [])], current.id);
      if (columns.source_key && columns.source_key !== current.source_key) {
        const holder = await findEntryBySourceKey(trx, current.domain_id, columns.source_key);
        if (holder && holder.id !== current.id) throw new DmciError(ErrorCode.ALREADY_EXISTS, `an entry with source key ${columns.source_key} already exists`);
      }
      if (columns.manager_id) await requireManager(trx, current.domain_id, columns.manager_id, current.id);
      const entryBefore = await this.toAdmin(trx, current);
      await updateEntry(trx, current.id, columns, modseq);
      if (aliases) await replaceAliases(trx, current.domain_id, current.id, aliases);
      if (columns.hidden !== undefined && columns.hidden !== current.hidden) {
        // Groups listing it and people it manages show it (or not) through it.
        await stampEntries(trx, await dependentsOf(trx, current.id), modseq);
      }
      const entryAfter = await this.toAdmin(trx, (await findEntryById(trx, current.id))!);
      await recordAudit(trx, actor, { action: 'directory.update', target: current.id, domainId: current.domain_id, before: entryBefore, after: entryAfter });
      return entryAfter;
    });
  }

  async adminHide(actor: Actor, id: string, hidden: boolean): Promise<AdminDirectoryEntry> {
    return this.adminUpdate(actor, id, { hidden });
  }

  async adminSetMembers(actor: Actor, id: string, memberIds: readonly string[], ifVersion?: number): Promise<AdminDirectoryEntry> {
    const before = await this.requireManageable(actor, id);
    if (before.kind !== 'group') throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'only groups have members');
    return writeGal(this.db, this.publish, before.domain_id, async (trx, modseq) => {
      const group = await this.lockedEntry(trx, id, ifVersion);
      await requireMembers(trx, group.domain_id, memberIds);
      // Checked under the scope lock, so two concurrent changes cannot close a cycle between them.
      if (await wouldCloseCycle(trx, group.id, memberIds)) {
        throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'a group cannot contain itself, directly or through nested groups', { details: { reason: 'cycle' } });
      }
      const membersBefore = (await membersOf(trx, [group.id], { visibleOnly: false })).get(group.id) ?? [];
      await replaceMembers(trx, group.id, memberIds);
      await updateEntry(trx, group.id, {}, modseq);
      await recordAudit(trx, actor, { action: 'directory.members', target: group.id, domainId: group.domain_id, before: { memberIds: membersBefore }, after: { memberIds } });
      return this.toAdmin(trx, (await findEntryById(trx, group.id))!);
    });
  }

  async adminDelete(actor: Actor, id: string, ifVersion?: number): Promise<void> {
    const before = await this.requireManageable(actor, id);
    if (before.account_id) throw forbidden("an account's entry cannot be deleted: disable the account or hide the entry");
    await writeGal(this.db, this.publish, before.domain_id, async (trx, modseq) => {
      const entry = await this.lockedEntry(trx, id, ifVersion);
      const dependents = await dependentsOf(trx, entry.id);
      await recordAudit(trx, actor, { action: 'directory.delete', target: entry.id, domainId: entry.domain_id, before: await this.toAdmin(trx, entry) });
      await tombstoneEntry(trx, entry.id, modseq);
      await stampEntries(trx, dependents, modseq);
    });
  }

  /**
   * The entry an admin may read or change. Non-admins are refused before the
   * lookup and a domain admin of another domain gets the same NOT_FOUND as
   * for an unknown id, so neither learns whether an id exists. Changing the
   * entry of a global admin's account takes a global admin.
   */
  private async requireManageable(actor: Actor, id: string, purpose: 'read' | 'write' = 'write'): Promise<EntryRow> {
    requireAdmin(actor);
    const row = await findEntryById(this.db, id);
    if (!row || row.deleted) throw notFound('directory entry');
    requireDomainAdminOf(actor, row.domain_id, 'directory entry');
    if (purpose === 'write' && row.account_id) {
      const account = await findAccountById(this.db, row.account_id);
      if (account?.role === 'global_admin') requireMayGrant(actor, 'global_admin');
    }
    return row;
  }

  /** A domain by name for an admin; a domain admin gets the same FORBIDDEN for another domain and for one that does not exist. */
  private async manageableDomain(actor: Actor, name: string) {
    return requireDomainNamed(actor, await findDomainByName(this.db, name), name);
  }

  /** Re-reads the entry after the scope lock is held, and checks a conditional write's version. */
  private async lockedEntry(trx: Db, id: string, ifVersion: number | undefined): Promise<EntryRow> {
    const row = await findEntryById(trx, id);
    if (!row || row.deleted) throw notFound('directory entry');
    if (ifVersion !== undefined && row.modseq !== ifVersion) {
      throw new DmciError(ErrorCode.VERSION_MISMATCH, `the entry is at version ${row.modseq}, not ${ifVersion}`, { details: { version: row.modseq } });
    }
    return row;
  }

  private async toAdmin(db: Db, row: EntryRow, domainName?: string): Promise<AdminDirectoryEntry> {
    const name = domainName ?? (await findDomainById(db, row.domain_id))!.name;
    const aliases = await aliasesOf(db, [row.id]);
    const members = row.kind === 'group' ? await membersOf(db, [row.id], { visibleOnly: false }) : undefined;
    return toAdminEntry(row, name, aliases.get(row.id) ?? [], members?.get(row.id));
  }
}

/** Thrown inside a create's transaction to roll it back and answer with the entry that exists. */
class ExistingEntry extends Error {
  constructor(readonly entry: AdminDirectoryEntry) {
    super('exists');
  }
}

/** Readers read their own domain's GAL only. */
function readerDomain(actor: Actor): string {
  if (actor.kind !== 'account') throw forbidden('the GAL is read by accounts');
  return actor.domainId;
}

/** Lower-case, trimmed, inner whitespace collapsed: how search and resolve compare text. */
export function normalizeText(text: string): string {
  return text.trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Email and aliases are unique per domain across both (an address names one entry). */
export async function requireAddressesFree(db: Db, domainId: string, addresses: ReadonlyArray<string | null | undefined>, self: string | undefined): Promise<void> {
  const wanted = [...new Set(addresses.filter((a): a is string => Boolean(a)))];
  const owners = await addressOwners(db, domainId, wanted);
  for (const [address, owner] of owners) {
    if (owner !== self) throw new DmciError(ErrorCode.ALREADY_EXISTS, `${address} already names another directory entry`, { details: { address } });
  }
}

async function requireManager(db: Db, domainId: string, managerId: string, self: string | undefined): Promise<void> {
  if (managerId === self) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'an entry cannot be its own manager');
  const [manager] = await findEntriesByIds(db, domainId, [managerId], { visibleOnly: false });
  if (!manager || manager.kind !== 'person') throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'managerId must name a person of the same domain');
}

async function requireMembers(db: Db, domainId: string, memberIds: readonly string[]): Promise<void> {
  if (memberIds.length > DirectoryLimits.maxMembers) throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a group may have at most ${DirectoryLimits.maxMembers} members`);
  const unique = [...new Set(memberIds)];
  const found = await findEntriesByIds(db, domainId, unique, { visibleOnly: false });
  if (found.length !== unique.length) {
    const known = new Set(found.map((r) => r.id));
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'every member must be an entry of the same domain', { details: { unknown: unique.filter((id) => !known.has(id)) } });
  }
}
