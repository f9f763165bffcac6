import type { Transaction } from 'kysely';
import { ErrorCode, type Calendar, type MethodArgs, type MethodResult, type SetError } from '../../protocol/index.ts';
import { findAccountByEmail, type AccountWithDomain } from '../accounts/account.repository.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { DmciError, toDmciError } from '../errors.ts';
import { bumpScope, createScope, readScope } from '../sync/sync-scope.repository.ts';
import { lockScopes, resolveAccess, resolveRightsOfMany } from './calendar-access.ts';
import { stampLists, stampsFor } from './calendar-lists.ts';
import { hasRight } from './privacy/index.ts';
import { accountsInGroups } from './rights.repository.ts';
import { findEntryByAddress } from '../directory/directory.repository.ts';
import { galScopeId } from '../directory/directory.table.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { renderCalendars } from './calendar-render.ts';
import { decodeCursor, encodeCursor, plainState } from './calendar-state.ts';
import {
  countCalendarsOf,
  deleteCalendarRow,
  deleteGrant,
  grantsOf,
  insertCalendar,
  listEntryChangesPage,
  listScopeOf,
  liveListEntryIds,
  lockCalendar,
  stampListEntries,
  updateCalendarRow,
  upsertGrant,
} from './calendar.repository.ts';
import type { AccessRight, GranteeKind } from './calendar.table.ts';
import { accountOf, calendarScope } from './event.service.ts';

type Trx = Transaction<Database>;
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
  constructor(
    private readonly db: Db,
    private readonly bus: Pick<ClusterBus, 'publish'>,
  ) {}

  /** AccountService.onAccountCreated hook: the list scope and a default calendar, in the account's transaction. */
  readonly createDefaultCalendar = async (trx: Db, account: AccountWithDomain): Promise<void> => {
    const listScope = listScopeOf(account.id);
    await createScope(trx, listScope);
    const modseq = await bumpScope(trx as Trx, listScope);
    const calendar = await insertCalendar(trx, { account_id: account.id, name: 'Calendar', is_default: true });
    await createScope(trx, calendarScope(calendar.id));
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
    const since = args.sinceState !== undefined ? decodeCursor(args.sinceState) : null;
    if (since && (since.initial || since.window)) throw new DmciError(ErrorCode.INVALID_STATE, 'not a calendar-list state');
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const scope = await readScope(trx, listScopeOf(accountId));
        const modseq = Math.min(scope?.modseq ?? 0, upTo ?? Infinity);
        if (!since) {
          const ids = await liveListEntryIds(trx, accountId);
          const rendered = await renderCalendars(trx, accountId, ids);
          return { oldState: null, newState: plainState(modseq), hasMoreChanges: false, created: [...rendered.values()], updated: [], destroyed: [] };
        }
        if (since.modseq > modseq) throw new DmciError(ErrorCode.INVALID_STATE, 'this state is newer than the calendar list');
        if (since.afterId ? since.modseq <= (scope?.minModseq ?? 0) : since.modseq < (scope?.minModseq ?? 0)) throw new DmciError(ErrorCode.CANNOT_CALCULATE_CHANGES, 'the calendar list log no longer reaches back to this state: resync');
        const rows = await listEntryChangesPage(trx, accountId, { modseq: since.modseq, id: since.afterId }, modseq, args.maxChanges);
        const hasMoreChanges = rows.length > args.maxChanges;
        const page = rows.slice(0, args.maxChanges);
        const rendered = await renderCalendars(
          trx,
          accountId,
          page.filter((r) => !r.deleted).map((r) => r.calendar_id),
        );
        const created: Calendar[] = [];
        const updated: Calendar[] = [];
        const destroyed: string[] = [];
        // Same rules as CalendarEvent/changes (event-changes.ts): omit a tombstone only if created
        // after the cursor position; call an entry "created" if created after the read began.
        const base = since.base ?? since.modseq;
        for (const row of page) {
          const afterCursor = row.created_modseq > since.modseq || (row.created_modseq === since.modseq && since.afterId !== null && row.calendar_id > since.afterId);
          const calendar = rendered.get(row.calendar_id);
          if (row.deleted || !calendar) {
            if (!afterCursor) destroyed.push(row.calendar_id);
          } else (row.created_modseq > base ? created : updated).push(calendar);
        }
        const last = page.at(-1);
        const newState = hasMoreChanges && last ? encodeCursor({ modseq: last.modseq, afterId: last.calendar_id, base, initial: false, window: null }) : plainState(modseq);
        return { oldState: args.sinceState ?? null, newState, hasMoreChanges, created, updated, destroyed };
      });
  }

  async set(actor: Actor, args: MethodArgs<'Calendar/set'>): Promise<MethodResult<'Calendar/set'>> {
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
      if (e.code === ErrorCode.INTERNAL) throw error;
      const body = e.toBody();
      return body.details === undefined ? { code: body.code, message: body.message } : { code: body.code, message: body.message, details: body.details };
    };
    for (const [key, input] of Object.entries(args.create ?? {})) {
      try {
        const id = await this.create(accountId, input);
        result.created[key] = (await renderCalendars(this.db, accountId, [id])).get(id)!;
      } catch (error) {
        result.notCreated[key] = failure(error);
      }
    }
    for (const [id, input] of Object.entries(args.update ?? {})) {
      try {
        await this.update(accountId, id, input);
        const rendered = (await renderCalendars(this.db, accountId, [id])).get(id);
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
    return plainState((await readScope(this.db, listScopeOf(accountId)))?.modseq ?? 0);
  }

  private async create(accountId: string, input: { name: string; color?: string | null | undefined; description?: string | null | undefined }): Promise<string> {
    const listScope = listScopeOf(accountId);
    const { id, modseq } = await this.db.transaction().execute(async (trx) => {
      const modseq = await bumpScope(trx, listScope); // first: serialises this account's list writers
      if ((await countCalendarsOf(trx, accountId)) >= CalendarLimits.maxCalendarsPerAccount) {
        throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `an account may own at most ${CalendarLimits.maxCalendarsPerAccount} calendars`);
      }
      const row = await insertCalendar(trx, { account_id: accountId, name: input.name, color: input.color ?? null, description: input.description ?? null });
      await createScope(trx, calendarScope(row.id));
      await stampListEntries(trx, row.id, new Map([[accountId, modseq]]), false);
      return { id: row.id, modseq };
    });
    this.bus.publish({ kind: 'scope', scope: listScope, modseq });
    return id;
  }

  private async update(
    accountId: string,
    calendarId: string,
    input: { name?: string; color?: string | null; description?: string | null; shareWith?: Record<string, ShareValue> },
  ): Promise<void> {
    const owner = await findCalendarOwner(this.db, calendarId);
    if (!owner) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
    const published = await this.db.transaction().execute(async (trx) => {
      // Lock order (calendar-access.ts): the owner's GAL (share: memberships hold still while group grants are
      // weighed), the events scope (exclusive: event writers re-check their right after we commit), the row, the lists.
      await lockScopes(trx, [galScopeId(owner.domain_id)], 'share');
      await lockScopes(trx, [calendarScope(calendarId)], 'exclusive');
      const calendar = await lockCalendar(trx, calendarId, 'no key update');
      const access = calendar ? await resolveAccess(trx, calendarId, accountId) : undefined;
      if (!calendar || !access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (!hasRight(access, 'manage')) throw new DmciError(ErrorCode.FORBIDDEN, 'changing a calendar needs the manage right');

      const changes: Array<{ grantee: Grantee; grant: { right: AccessRight; delegate: boolean; privateAccess: boolean } | null }> = [];
      for (const [email, value] of Object.entries(input.shareWith ?? {})) {
        const grantee = await findGrantee(trx, email, owner.domain_id);
        if (grantee.kind === 'account' && grantee.id === calendar.account_id) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'the owner cannot be given rights on their own calendar');
        const grant = value === null ? null : typeof value === 'string' ? { right: value, delegate: false, privateAccess: false } : value;
        if (grant?.privateAccess && access.right !== 'owner') throw new DmciError(ErrorCode.FORBIDDEN, 'only the owner may grant private access');
        if (grant?.privateAccess && !grant.delegate) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'privateAccess is for delegates: set delegate too');
        changes.push({ grantee, grant });
      }
      // Everyone who may see the calendar before or after: the owner, direct grantees, members of granted groups.
      const candidates = await this.audience(trx, calendar.account_id, calendarId, changes.map((c) => c.grantee));
      const target = { calendarIds: [calendarId] };
      const before = await resolveRightsOfMany(trx, candidates, target);
      for (const { grantee, grant } of changes) {
        if (grant) await upsertGrant(trx, calendarId, grantee, grant);
        else await deleteGrant(trx, calendarId, grantee);
      }
      const { name, color, description } = input;
      const renamed = name !== undefined || color !== undefined || description !== undefined;
      if (renamed) {
        await updateCalendarRow(trx, calendarId, { ...(name !== undefined ? { name } : {}), ...(color !== undefined ? { color } : {}), ...(description !== undefined ? { description } : {}) });
      }
      const after = await resolveRightsOfMany(trx, candidates, target);
      return stampLists(trx, stampsFor(calendarId, candidates, before, after, { renamed, regranted: changes.length > 0 }));
    });
    for (const [scope, modseq] of published) this.bus.publish({ kind: 'scope', scope, modseq });
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
    const published = await this.db.transaction().execute(async (trx) => {
      const access = await resolveAccess(trx, calendarId, accountId);
      if (!access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (access.right !== 'owner') throw new DmciError(ErrorCode.FORBIDDEN, 'only the owner may destroy a calendar');
      if (access.calendar.is_default) throw new DmciError(ErrorCode.FORBIDDEN, 'the default calendar cannot be destroyed');
      // Lock order: the events scope (as event writers do), then the calendar row, then the lists.
      const eventsModseq = await bumpScope(trx, calendarScope(calendarId));
      if (!(await lockCalendar(trx, calendarId, 'update'))) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      const candidates = await this.audience(trx, accountId, calendarId, []);
      const seeing = await resolveRightsOfMany(trx, candidates, { calendarIds: [calendarId] });
      const modseqs = await stampLists(
        trx,
        candidates.filter((id) => seeing.get(id)?.has(calendarId)).map((id) => ({ accountId: id, calendarId, live: false })),
      );
      await deleteCalendarRow(trx, calendarId); // events, instances and grants go with it (cascade)
      await trx.deleteFrom('sync_scopes').where('id', '=', calendarScope(calendarId)).execute();
      return new Map([...modseqs, [calendarScope(calendarId), eventsModseq]]);
    });
    for (const [scope, modseq] of published) this.bus.publish({ kind: 'scope', scope, modseq });
  }
}

type Grantee = { kind: GranteeKind; id: string };

/** The account with this email, else a live GAL group of the calendar owner's domain with it as email or alias. */
async function findGrantee(db: Db, email: string, ownerDomainId: string): Promise<Grantee> {
  const account = await findAccountByEmail(db, email);
  if (account) return { kind: 'account', id: account.id };
  const entry = await findEntryByAddress(db, ownerDomainId, email.toLowerCase(), { visibleOnly: false });
  if (entry?.kind === 'group') return { kind: 'group', id: entry.id };
  throw new DmciError(ErrorCode.NOT_FOUND, `no account or group ${email}`, { details: { email } });
}

async function findCalendarOwner(db: Db, calendarId: string): Promise<{ account_id: string; domain_id: string } | undefined> {
  return db
    .selectFrom('calendars')
    .innerJoin('accounts', 'accounts.id', 'calendars.account_id')
    .select(['calendars.account_id', 'accounts.domain_id'])
    .where('calendars.id', '=', calendarId)
    .executeTakeFirst();
}
