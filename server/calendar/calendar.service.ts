import type { Transaction } from 'kysely';
import { ErrorCode, type Calendar, type MethodArgs, type MethodResult, type SetError } from '../../protocol/index.ts';
import type { AccountWithDomain } from '../accounts/account.repository.ts';
import type { Actor } from '../accounts/actor.ts';
import type { ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import type { Logger } from '../log/logger.ts';
import { DmciError, toDmciError } from '../errors.ts';
import { bumpScope, bumpScopes, createScope, readScope } from '../sync/sync-scope.repository.ts';
import { hasRight, resolveAccess } from './calendar-access.ts';
import { CalendarLimits } from './calendar-limits.ts';
import { renderCalendars } from './calendar-render.ts';
import { decodeCursor, encodeCursor, plainState } from './calendar-state.ts';
import {
  countCalendarsOf,
  deleteCalendarRow,
  findShareableAccount,
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
import type { AccessRight } from './calendar.table.ts';
import { addStorageUsed, calendarBytes } from '../quota/storage.repository.ts';
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
        const rendered = await this.update(accountId, id, input);
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

  private async create(accountId: string, input: { name: string; color?: string | null | undefined; description?: string | null | undefined }): Promise<Calendar> {
    const listScope = listScopeOf(accountId);
    const { calendar, modseq } = await this.db.transaction().execute(async (trx) => {
      const modseq = await bumpScope(trx, listScope); // first: serialises this account's list writers
      if ((await countCalendarsOf(trx, accountId)) >= CalendarLimits.maxCalendarsPerAccount) {
        throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `an account may own at most ${CalendarLimits.maxCalendarsPerAccount} calendars`);
      }
      const row = await insertCalendar(trx, { account_id: accountId, name: input.name, color: input.color ?? null, description: input.description ?? null });
      await createScope(trx, calendarScope(row.id));
      await stampListEntries(trx, row.id, new Map([[accountId, modseq]]), false);
      return { calendar: (await renderCalendars(trx, accountId, [row.id])).get(row.id)!, modseq };
    });
    this.bus.publish({ kind: 'scope', scope: listScope, modseq });
    return calendar;
  }

  private async update(
    accountId: string,
    calendarId: string,
    input: { name?: string; color?: string | null; description?: string | null; shareWith?: Record<string, ShareValue> },
  ): Promise<Calendar | undefined> {
    const { modseqs: published, rendered } = await this.db.transaction().execute(async (trx) => {
      const calendar = await lockCalendar(trx, calendarId, 'no key update');
      const access = calendar ? await resolveAccess(trx, calendarId, accountId) : undefined;
      if (!calendar || !access) throw new DmciError(ErrorCode.NOT_FOUND, `calendar ${calendarId} not found`);
      if (!hasRight(access, 'manage')) throw new DmciError(ErrorCode.FORBIDDEN, 'changing a calendar needs the manage right');

      const before = await grantsOf(trx, [calendarId]);
      const changes = new Map<string, { accountId: string; grant: { right: AccessRight; delegate: boolean; privateAccess: boolean } | null }>();
      for (const [email, value] of Object.entries(input.shareWith ?? {})) {
        // A revoke finds the current grantee whoever they are now; a grant only someone shareable
        // (issue 7 §9: one answer for "no such account" and "not allowed", so nothing is probed).
        const current = before.find((g) => g.email === email.toLowerCase());
        const grantee = value === null ? (current ? { id: current.grantee_id } : undefined) : await findShareableAccount(trx, email, calendar.account_id);
        if (!grantee) {
          if (value === null) continue;
          throw new DmciError(ErrorCode.NOT_FOUND, `no account ${email} this calendar can be shared with`, { details: { email } });
        }
        if (grantee.id === calendar.account_id) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'the owner cannot be given rights on their own calendar');
        const grant = value === null ? null : typeof value === 'string' ? { right: value, delegate: false, privateAccess: false } : value;
        if (grant?.privateAccess && access.right !== 'owner') throw new DmciError(ErrorCode.FORBIDDEN, 'only the owner may grant private access');
        if (grant?.privateAccess && !grant.delegate) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'privateAccess is for delegates: set delegate too');
        changes.set(grantee.id, { accountId: grantee.id, grant });
      }
      const after = new Set(before.map((g) => g.grantee_id));
      for (const change of changes.values()) {
        if (change.grant) after.add(change.accountId);
        else after.delete(change.accountId);
      }
      // Everyone who sees the calendar before or after: their lists show its new name, rights or absence.
      const affected = new Set([calendar.account_id, ...before.map((g) => g.grantee_id), ...after]);
      const modseqs = await bumpScopes(trx, [...affected].map(listScopeOf));
      for (const { accountId: granteeId, grant } of changes.values()) {
        if (grant) await upsertGrant(trx, calendarId, granteeId, grant);
        else await deleteGrant(trx, calendarId, granteeId);
      }
      const { name, color, description } = input;
      if (name !== undefined || color !== undefined || description !== undefined) {
        await updateCalendarRow(trx, calendarId, { ...(name !== undefined ? { name } : {}), ...(color !== undefined ? { color } : {}), ...(description !== undefined ? { description } : {}) });
      }
      const live = new Map<string, number>();
      const gone = new Map<string, number>();
      for (const id of affected) (id === calendar.account_id || after.has(id) ? live : gone).set(id, modseqs.get(listScopeOf(id))!);
      await stampListEntries(trx, calendarId, live, false);
      await stampListEntries(trx, calendarId, gone, true);
      return { modseqs, rendered: (await renderCalendars(trx, accountId, [calendarId])).get(calendarId) };
    });
    for (const [scope, modseq] of published) this.bus.publish({ kind: 'scope', scope, modseq });
    return rendered;
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
      const grants = await grantsOf(trx, [calendarId]);
      const affected = [accountId, ...grants.map((g) => g.grantee_id)];
      const modseqs = await bumpScopes(trx, affected.map(listScopeOf));
      await stampListEntries(trx, calendarId, new Map(affected.map((id) => [id, modseqs.get(listScopeOf(id))!])), true);
      // Its events leave the owner's storage (the storage row is locked last, as event writers lock it after their scope).
      await addStorageUsed(trx, accountId, -(await calendarBytes(trx, calendarId)));
      await deleteCalendarRow(trx, calendarId); // events, instances and grants go with it (cascade)
      await trx.deleteFrom('sync_scopes').where('id', '=', calendarScope(calendarId)).execute();
      return new Map([...modseqs, [calendarScope(calendarId), eventsModseq]]);
    });
    for (const [scope, modseq] of published) this.bus.publish({ kind: 'scope', scope, modseq });
  }
}
