import { ErrorCode, type Calendar, type MethodArgs, type MethodResult, type SetError } from '../../protocol/index.ts';
import type { AccountWithDomain } from '../accounts/account.repository.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import { DmciError, toDmciError } from '../errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { calendarListScope, calendarScope, galScope } from '../sync/scope-id.ts';
import { busPublisher, scopeWriterIn, writeScopes, type ScopePublisher } from '../sync/scope-write.ts';
import { encodeState } from '../sync/state-token.ts';
import { deleteScope, readScope } from '../sync/sync-scope.repository.ts';
import { lockScopes, resolveAccess, resolveRightsOfMany } from './calendar-access.ts';
import { stampLists, stampsFor } from './calendar-lists.ts';
import { hasRight } from './privacy/index.ts';
import { accountsInGroups } from './rights.repository.ts';
import { findEntryByAddress } from '../directory/directory.repository.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { renderCalendars } from './calendar-render.ts';
import {
  countCalendarsOf,
  deleteCalendarRow,
  findShareableAccount,
  deleteGrant,
  grantsOf,
  insertCalendar,
  listEntryChangesPage,
  liveListEntriesPage,
  liveListEntryIds,
  lockCalendar,
  stampListEntries,
  updateCalendarRow,
  upsertGrant,
} from './calendar.repository.ts';
import { recordAudit } from '../audit/audit.service.ts';
import type { AccessRight, GranteeKind } from './calendar.table.ts';
import { addStorageUsed, calendarBytes } from '../quota/storage.repository.ts';
import { accountOf } from './event.service.ts';

type ShareValue = AccessRight | { right: AccessRight; delegate: boolean; privateAccess: boolean } | null;

/**
 * Calendars and the per-account calendar list (scope `calendars:<accountId>`).
 *
 * Every account's list holds an entry per calendar it can see, stamped with
 * that list scope's modseq whenever the calendar is created, renamed,
 * shared, unshared or destroyed, so Calendar/changes is the same ordered log
 * as events. Lock order, to stay deadlock-free with event writers (who lock
 * `cal:<id>` and then key-share the calendar row): `cal:<id>` (destroy only)
 * → the calendar row → the list scopes, bumped together in sorted order.
 * Each object of Calendar/set is its own transaction.
 */
export class CalendarService {
  private readonly publish: ScopePublisher;

  constructor(
    private readonly db: Db,
    bus: Pick<ClusterBus, 'publish'>,
  ) {
    this.publish = busPublisher(bus);
  }

  /** AccountService.onAccountCreated hook: the list scope and a default calendar, in the account's transaction. */
  readonly createDefaultCalendar = async (trx: Db, account: AccountWithDomain): Promise<void> => {
    const writer = scopeWriterIn(trx);
    const listScope = calendarListScope(account.id);
    await writer.create(listScope);
    const modseq = await writer.bump(listScope);
    const calendar = await insertCalendar(trx, { account_id: account.id, name: 'Calendar', is_default: true });
    await writer.create(calendarScope(calendar.id));
    await stampListEntries(trx, calendar.id, new Map([[account.id, modseq]]), false);
  };

  async defaultCalendarId(accountId: string): Promise<string> {
    const row = await this.db.selectFrom('calendars').select('id').where('account_id', '=', accountId).where('is_default', '=', true).executeTakeFirst();
    if (!row) throw new DmciError(ErrorCode.NOT_FOUND, 'this account has no default calendar');
    return row.id;
  }

  async get(actor: Actor, args: MethodArgs<'Calendar/get'>): Promise<MethodResult<'Calendar/get'>> {
    const accountId = accountOf(actor);
    const state = await this.listState(accountId);
    const visible = new Set(await liveListEntryIds(this.db, accountId));
    const wanted = args.ids ? args.ids.filter((id) => visible.has(id)) : [...visible];
    const rendered = await renderCalendars(this.db, accountId, wanted);
    const list = wanted.flatMap((id) => rendered.get(id) ?? []);
    return { state, list, notFound: (args.ids ?? []).filter((id) => !rendered.has(id)) };
  }

  async changes(actor: Actor, args: MethodArgs<'Calendar/changes'>): Promise<MethodResult<'Calendar/changes'>> {
    return this.listChanges(accountOf(actor), args);
  }

  /** Calendar/changes for an account; `upTo` bounds the answer (push sends exactly (from, to]). */
  async listChanges(accountId: string, args: MethodArgs<'Calendar/changes'>, upTo?: number): Promise<MethodResult<'Calendar/changes'>> {
    const notFound = () => new DmciError(ErrorCode.NOT_FOUND, 'this account has no calendar list');
    return readChanges(
      this.db,
      calendarListScope(accountId),
      args.sinceState,
      async ({ trx, upTo: end, since }) => {
        if (since?.window) throw new DmciError(ErrorCode.INVALID_STATE, 'not a calendar-list state');
        const page = await walkLog(listReader(trx, accountId), since, end, args.maxChanges);
        const calendarOf = (row: ListRow) => row.calendar!;
        return {
          oldState: args.sinceState ?? null,
          newState: page.newState,
          hasMoreChanges: page.hasMoreChanges,
          created: page.created.map(calendarOf),
          updated: page.updated.map(calendarOf),
          destroyed: page.destroyed,
        };
      },
      { notFound, ...(upTo !== undefined ? { upTo } : {}) },
    );
  }

  /**
   * Each object is its own transaction (docs: Calendar/set), so the answer
   * must say exactly which committed: an object's answer is rendered inside
   * its transaction, and an unexpected failure of one object is logged and
   * reported for that object (INTERNAL) rather than failing a call whose
   * earlier objects have already committed.
   */
  async set(actor: Actor, args: MethodArgs<'Calendar/set'>, log?: Logger): Promise<MethodResult<'Calendar/set'>> {
    const accountId = accountOf(actor);
    const result: MethodResult<'Calendar/set'> = {
      oldState: await this.listState(accountId),
      newState: '',
      created: {},
      updated: {},
      destroyed: [],
      notCreated: {},
      notUpdated: {},
      notDestroyed: {},
    };
    const failure = (error: unknown): SetError => {
      const e = toDmciError(error);
      if (e.code === ErrorCode.INTERNAL) log?.error({ err: error, method: 'Calendar/set' }, 'one object of the call failed');
      const body = e.toBody();
      return body.details === undefined ? { code: body.code, message: body.message } : { code: body.code, message: body.message, details: body.details };
    };
    for (const [key, input] of Object.entries(args.create ?? {})) {
      try {
        result.created[key] = await this.create(accountId, input);
      } catch (error) {
        result.notCreated[key] = failure(error);
      }
    }
    for (const [id, input] of Object.entries(args.update ?? {})) {
      try {
        const rendered = await this.update(actor, accountId, id, input);
        if (rendered) result.updated[id] = rendered;
      } catch (error) {
        result.notUpdated[id] = failure(error);
      }
    }
    for (const id of args.destroy ?? []) {
      try {
        await this.destroy(accountId, id);
        result.destroyed.push(id);
      } catch (error) {
        result.notDestroyed[id] = failure(error);
      }
    }
    result.newState = await this.listState(accountId);
    return result;
  }

  private async listState(accountId: string): Promise<string> {
    return encodeState((await readScope(this.db, calendarListScope(accountId)))?.modseq ?? 0);
  }

  private async create(accountId: string, input: { name: string; color?: string | null | undefined; description?: string | null | undefined }): Promise<Calendar> {
    return writeScopes(this.db, this.publish, async (writer) => {
      const { trx } = writer;
      const modseq = await writer.bump(calendarListScope(accountId)); // first: serialises this account's list writers
      if ((await countCalendarsOf(trx, accountId)) >= CalendarLimits.maxCalendarsPerAccount) {
        throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `an account may own at most ${CalendarLimits.maxCalendarsPerAccount} calendars`);
      }
      const row = await insertCalendar(trx, { account_id: accountId, name: input.name, color: input.color ?? null, description: input.description ?? null });
      await writer.create(calendarScope(row.id));
      await stampListEntries(trx, row.id, new Map([[accountId, modseq]]), false);
      return (await renderCalendars(trx, accountId, [row.id])).get(row.id)!;
    });
  }

  private async update(
    actor: Actor,
    accountId: string,
    calendarId: string,
    input: { name?: string; color?: string | null; description?: string | null; shareWith?: Record<string, ShareValue> },
  ): Promise<Calendar | undefined> {
    const owner = await findCalendarOwner(this.db, calendarId);
    if (!owner) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
    return writeScopes(this.db, this.publish, async (writer) => {
      const { trx } = writer;
      // Lock order (calendar-access.ts): the owner's GAL (share: memberships hold still while group grants are
      // weighed), the events scope (exclusive: event writers re-check their right after we commit), the row, the lists.
      await lockScopes(trx, [galScope(owner.domain_id)], 'share');
      await lockScopes(trx, [calendarScope(calendarId)], 'exclusive');
      const calendar = await lockCalendar(trx, calendarId, 'no key update');
      const access = calendar ? await resolveAccess(trx, calendarId, accountId) : undefined;
      if (!calendar || !access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (!hasRight(access, 'manage')) throw new DmciError(ErrorCode.FORBIDDEN, 'changing a calendar needs the manage right');

      const current = await grantsOf(trx, [calendarId]);
      const changes: Array<{ email: string; grantee: Grantee; grant: { right: AccessRight; delegate: boolean; privateAccess: boolean } | null }> = [];
      for (const [email, value] of Object.entries(input.shareWith ?? {})) {
        let grantee: Grantee;
        if (value === null) {
          // A revoke finds the current grantee whoever they are now (a group by its email or an alias);
          // revoking someone who holds no grant changes nothing.
          const address = email.toLowerCase();
          const group = current.some((g) => g.email === address) ? undefined : await findEntryByAddress(trx, owner.domain_id, address, { visibleOnly: false });
          const held = current.find((g) => g.email === address || (group !== undefined && g.grantee_kind === 'group' && g.grantee_id === group.id));
          if (!held) continue;
          grantee = { kind: held.grantee_kind, id: held.grantee_id };
        } else {
          // A grant only to someone shareable (issue 7: one answer for "no such account or group" and "not allowed").
          grantee = await findGrantee(trx, email, owner.account_id, owner.domain_id);
        }
        if (grantee.kind === 'account' && grantee.id === calendar.account_id) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'the owner cannot be given rights on their own calendar');
        const grant = value === null ? null : typeof value === 'string' ? { right: value, delegate: false, privateAccess: false } : value;
        if (grant?.privateAccess && access.right !== 'owner') throw new DmciError(ErrorCode.FORBIDDEN, 'only the owner may grant private access');
        if (grant?.privateAccess && !grant.delegate) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'privateAccess is for delegates: set delegate too');
        changes.push({ email: email.toLowerCase(), grantee, grant });
      }
      // Everyone who may see the calendar before or after: the owner, direct grantees, members of granted groups.
      const candidates = await this.audience(trx, owner.account_id, calendarId, changes.map((c) => c.grantee));
      const target = { calendarIds: [calendarId] };
      const before = await resolveRightsOfMany(trx, candidates, target);
      for (const { email, grantee, grant } of changes) {
        if (grant) await upsertGrant(trx, calendarId, grantee, grant);
        else await deleteGrant(trx, calendarId, grantee);
        const held = current.find((g) => g.grantee_kind === grantee.kind && g.grantee_id === grantee.id);
        await recordAudit(trx, actor, {
          action: 'grant.change',
          target: email,
          domainId: owner.domain_id,
          detail: { calendarId, calendar: calendar.name, granteeKind: grantee.kind },
          before: held ? { right: held.access_right, delegate: held.is_delegate, privateAccess: held.private_access } : null,
          after: grant,
        });
      }
      const { name, color, description } = input;
      const renamed = name !== undefined || color !== undefined || description !== undefined;
      if (renamed) {
        await updateCalendarRow(trx, calendarId, { ...(name !== undefined ? { name } : {}), ...(color !== undefined ? { color } : {}), ...(description !== undefined ? { description } : {}) });
      }
      const after = await resolveRightsOfMany(trx, candidates, target);
      await stampLists(writer, stampsFor(calendarId, candidates, before, after, { renamed, regranted: changes.length > 0 }));
      return (await renderCalendars(trx, accountId, [calendarId])).get(calendarId);
    });
  }

  /** The owner, the calendar's grantees and the members of its granted groups, plus `extra` grantees. */
  private async audience(trx: Db, ownerId: string, calendarId: string, extra: readonly Grantee[]): Promise<string[]> {
    const grantees = [...(await grantsOf(trx, [calendarId])).map((g) => ({ kind: g.grantee_kind, id: g.grantee_id })), ...extra];
    const members = await accountsInGroups(
      trx,
      grantees.filter((g) => g.kind === 'group').map((g) => g.id),
    );
    return [...new Set([ownerId, ...grantees.filter((g) => g.kind === 'account').map((g) => g.id), ...members])];
  }

  private async destroy(accountId: string, calendarId: string): Promise<void> {
    await writeScopes(this.db, this.publish, async (writer) => {
      const { trx } = writer;
      const access = await resolveAccess(trx, calendarId, accountId);
      if (!access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (access.right !== 'owner') throw new DmciError(ErrorCode.FORBIDDEN, 'only the owner may destroy a calendar');
      if (access.calendar.is_default) throw new DmciError(ErrorCode.FORBIDDEN, 'the default calendar cannot be destroyed');
      // Lock order: the events scope (as event writers do), then the calendar row, then the lists.
      await writer.bump(calendarScope(calendarId));
      if (!(await lockCalendar(trx, calendarId, 'update'))) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      const candidates = await this.audience(trx, accountId, calendarId, []);
      const seeing = await resolveRightsOfMany(trx, candidates, { calendarIds: [calendarId] });
      await stampLists(
        writer,
        candidates.filter((id) => seeing.get(id)?.has(calendarId)).map((id) => ({ accountId: id, calendarId, live: false })),
      );
      // Its events leave the owner's storage (the storage row is locked last, as event writers lock it after their scope).
      await addStorageUsed(trx, accountId, -(await calendarBytes(trx, calendarId)));
      await deleteCalendarRow(trx, calendarId); // events, instances and grants go with it (cascade)
      await deleteScope(trx, calendarScope(calendarId)); // followers get a resync mark and /changes answers NOT_FOUND
    });
  }
}

type ListRow = { calendar_id: string; modseq: number; created_modseq: number; deleted: boolean; calendar?: Calendar };

/** calendar_list_entries as the walker reads them, each rendered as the account sees it (unrendered = gone). */
function listReader(trx: Db, accountId: string): ChangeLogReader<ListRow> {
  const withCalendars = async (rows: ListRow[]) => {
    const rendered = await renderCalendars(
      trx,
      accountId,
      rows.filter((r) => !r.deleted).map((r) => r.calendar_id),
    );
    for (const row of rows) row.calendar = rendered.get(row.calendar_id);
    return rows;
  };
  return {
    changes: async (after, upTo, limit) => withCalendars(await listEntryChangesPage(trx, accountId, after, upTo, limit)),
    live: async (pinned, afterId, limit) => withCalendars(await liveListEntriesPage(trx, accountId, pinned, afterId, limit)),
    entry: (row) => ({ id: row.calendar_id, modseq: row.modseq, createdModseq: row.created_modseq, gone: row.deleted || !row.calendar }),
  };
}

type Grantee = { kind: GranteeKind; id: string };

/**
 * Whom `email` names for a new grant on a calendar of `ownerId`: an account
 * it may be shared with (findShareableAccount: enabled, not hidden, same
 * domain or cross-domain sharing allowed on both sides), else a live, visible
 * GAL group of the owner's domain with it as email or alias. One NOT_FOUND
 * answer for every other case alike (issue 7), so nothing can be probed.
 */
async function findGrantee(db: Db, email: string, ownerId: string, ownerDomainId: string): Promise<Grantee> {
  const account = await findShareableAccount(db, email, ownerId);
  if (account) return { kind: 'account', id: account.id };
  const entry = await findEntryByAddress(db, ownerDomainId, email.toLowerCase(), { visibleOnly: true });
  if (entry?.kind === 'group') return { kind: 'group', id: entry.id };
  throw new DmciError(ErrorCode.NOT_FOUND, `no account or group ${email} this calendar can be shared with`, { details: { email } });
}

async function findCalendarOwner(db: Db, calendarId: string): Promise<{ account_id: string; domain_id: string } | undefined> {
  // The inner join leaves out resource calendars (no owning account): nobody shares those through Calendar/set.
  const row = await db
    .selectFrom('calendars')
    .innerJoin('accounts', 'accounts.id', 'calendars.account_id')
    .select(['calendars.account_id', 'accounts.domain_id'])
    .where('calendars.id', '=', calendarId)
    .executeTakeFirst();
  return row?.account_id ? { account_id: row.account_id, domain_id: row.domain_id } : undefined;
}
