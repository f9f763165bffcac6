import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';
import type { Session } from '../sessions/session.ts';
import type { ScopeFeed } from '../sync/push-hub.ts';
import { inboxScope, scopeKey, ScopeKind } from '../sync/scope-id.ts';
import { encodeState } from '../sync/state-token.ts';
import type { InboxService } from './inbox.service.ts';

/** Largest inbox delta pushed; beyond it the client gets a resync mark and calls Inbox/changes. */
export const MAX_INBOX_PUSH_CHANGES = 500;

/** Push for `inbox:<accountId>`: only the account itself may follow its inbox. The payload has the shape of an Inbox/changes page. */
export function inboxFeed(inbox: InboxService): ScopeFeed {
  return {
    async authorize(session: Session, scopeId: string): Promise<string> {
      if (scopeId !== inboxScope(session.account.id)) throw new DmciError(ErrorCode.FORBIDDEN, 'only its account may follow an inbox');
      return 'self';
    },
    async loadChanges(scopeId: string, fromModseq: number, toModseq: number): Promise<unknown> {
      const page = await inbox.changesOf(scopeKey(ScopeKind.inbox, scopeId), { sinceState: encodeState(fromModseq), maxChanges: MAX_INBOX_PUSH_CHANGES }, toModseq);
      return page.hasMoreChanges ? null : page;
    },
  };
}
