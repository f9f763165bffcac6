import { DefaultLimits, ErrorCode, type InboxMessage, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import { AnswerBudget } from '../answers/answer-budget.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { accountOf } from '../calendar/event.service.ts';
import { requireAccess } from '../calendar/calendar-access.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../sync/change-log.ts';
import { inboxScope } from '../sync/scope-id.ts';
import { NothingChanged, scopeWriterIn, writeScopes, type ScopePublisher } from '../sync/scope-write.ts';
import { encodeState } from '../sync/state-token.ts';
import { readScope } from '../sync/sync-scope.repository.ts';
import type { AccountWithDomain } from '../accounts/account.service.ts';
import type { InboxMessageRow } from './inbox.table.ts';
import { findLiveMessages, inboxChangesPage, liveInboxPage, tombstoneMessages } from './inbox.repository.ts';

/**
 * Each account's scheduling inbox (DESIGN §4, §6a): a sync scope
 * `inbox:<accountId>` that only its account reads. The scheduler writes
 * messages in the transaction of the scheduling change (scheduling/);
 * this service reads them through the one change-log walker and lets the
 * account dismiss them.
 */
export class InboxService {
  constructor(
    private readonly db: Db,
    private readonly publish: ScopePublisher,
  ) {}

  /** AccountService.onAccountCreated hook: the inbox scope, in the account's transaction. */
  readonly createInbox = async (trx: Db, account: AccountWithDomain): Promise<void> => {
    await scopeWriterIn(trx).create(inboxScope(account.id));
  };

  async get(actor: Actor, args: MethodArgs<'Inbox/get'>): Promise<MethodResult<'Inbox/get'>> {
    const accountId = accountOf(actor);
    const ids = args.ids ? [...new Set(args.ids)] : null;
    const state = await readScope(this.db, inboxScope(accountId));
    // Without ids, one row past a page tells that there are more: an inbox never left unread is never read whole into memory.
    const rows = await findLiveMessages(this.db, accountId, ids, ids ? ids.length : DefaultLimits.maxChangesPerCall + 1);
    const found = new Set(rows.map((r) => r.id));
    const bytes = new AnswerBudget();
    const list: InboxMessage[] = [];
    let hasMore = false;
    for (const row of rows) {
      if (list.length === DefaultLimits.maxChangesPerCall) {
        hasMore = true;
        break;
      }
      const message = renderMessage(row);
      if (!bytes.fits(message)) {
        hasMore = true;
        break;
      }
      list.push(message);
    }
    return { state: encodeState(state?.modseq ?? 0), list, notFound: ids ? ids.filter((id) => !found.has(id)) : [], hasMore };
  }

  async changes(actor: Actor, args: MethodArgs<'Inbox/changes'>, upTo?: number): Promise<MethodResult<'Inbox/changes'>> {
    return this.changesOf(accountOf(actor), args, upTo);
  }

  /** The log of one account's inbox (Inbox/changes, and push frames for (from, to]). */
  async changesOf(accountId: string, args: MethodArgs<'Inbox/changes'>, upTo?: number): Promise<MethodResult<'Inbox/changes'>> {
    const scope = inboxScope(accountId);
    return readChanges(
      this.db,
      scope,
      args.sinceState,
      async ({ trx, upTo: end, since }) => {
        const bytes = new AnswerBudget();
        const reader: ChangeLogReader<InboxMessageRow> = {
          changes: (after, to, limit) => inboxChangesPage(trx, accountId, after, to, limit),
          live: (pinned, afterId, limit) => liveInboxPage(trx, accountId, afterId, pinned, limit),
          entry: (row) => ({ id: row.id, modseq: row.modseq, createdModseq: row.created_modseq, gone: row.deleted }),
          fit: (rows) => bytes.prefix(rows.map((row) => (row.deleted ? row.id : renderMessage(row)))).length,
        };
        const page = await walkLog(reader, since, end, args.maxChanges);
        return {
          scope,
          oldState: args.sinceState ?? null,
          newState: page.newState,
          hasMoreChanges: page.hasMoreChanges,
          created: page.created.map(renderMessage),
          updated: page.updated.map(renderMessage),
          destroyed: page.destroyed,
        };
      },
      { notFound: () => new DmciError(ErrorCode.NOT_FOUND, 'this account has no inbox'), ...(upTo !== undefined ? { upTo } : {}) },
    );
  }

  /** A delegate's choice of copies of a calendar's scheduling messages (the grant is checked now and again at each delivery). */
  async delegateCopies(actor: Actor, args: MethodArgs<'Inbox/delegateCopies'>): Promise<MethodResult<'Inbox/delegateCopies'>> {
    const accountId = accountOf(actor);
    const access = await requireAccess(this.db, args.calendarId, accountId, 'freebusy');
    if (!access.delegate) throw new DmciError(ErrorCode.FORBIDDEN, `you are not a delegate for calendar ${args.calendarId}`);
    if (args.enabled) await this.db.insertInto('delegate_inbox_copies').values({ calendar_id: args.calendarId, account_id: accountId }).onConflict((oc) => oc.doNothing()).execute();
    else await this.db.deleteFrom('delegate_inbox_copies').where('calendar_id', '=', args.calendarId).where('account_id', '=', accountId).execute();
    return { calendarId: args.calendarId, enabled: args.enabled };
  }

  async set(actor: Actor, args: MethodArgs<'Inbox/set'>): Promise<MethodResult<'Inbox/set'>> {
    const accountId = accountOf(actor);
    const scope = inboxScope(accountId);
    const ids = [...new Set(args.destroy)];
    const done = await writeScopes<{ modseq: number; destroyed: string[] } | undefined>(
      this.db,
      this.publish,
      async (writer) => {
        const modseq = await writer.bump(scope);
        const destroyed = await tombstoneMessages(writer.trx, accountId, ids, modseq);
        if (destroyed.length === 0) throw new NothingChanged();
        return { modseq, destroyed };
      },
      () => undefined,
    );
    const destroyed = done?.destroyed ?? [];
    const notDestroyed = Object.fromEntries(ids.filter((id) => !destroyed.includes(id)).map((id) => [id, { code: ErrorCode.NOT_FOUND, message: `message ${id} not found` }]));
    const state = done ? done.modseq : ((await readScope(this.db, scope))?.modseq ?? 0);
    return { oldState: encodeState(done ? state - 1 : state), newState: encodeState(state), destroyed, notDestroyed };
  }
}

export function renderMessage(row: InboxMessageRow): InboxMessage {
  return {
    id: row.id,
    kind: row.kind,
    uid: row.uid,
    calendarId: row.calendar_id,
    eventId: row.event_id,
    from: row.sender,
    sequence: row.sequence,
    partstat: row.partstat,
    recurrenceId: row.recurrence_id,
    summary: row.summary,
    firstStart: row.first_start ? row.first_start.toISOString() : null,
    onBehalfOf: row.on_behalf_of,
    proposedStart: row.proposed_start ? row.proposed_start.toISOString() : null,
    proposedEnd: row.proposed_end ? row.proposed_end.toISOString() : null,
    comment: row.comment,
    freeNext: slot(row.free_next_start, row.free_next_end),
    freeEarlier: slot(row.free_earlier_start, row.free_earlier_end),
    createdAt: row.created_at.toISOString(),
  };
}

function slot(start: Date | null, end: Date | null): { start: string; end: string } | null {
  return start && end ? { start: start.toISOString(), end: end.toISOString() } : null;
}
