import { decodedValue, ErrorCode } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import type { Session } from '../sessions/session.ts';
import type { ScopeFeed } from '../sync/push-hub.ts';
import { galScope, scopeKey, ScopeKind } from '../sync/scope-id.ts';
import { encodeState } from '../sync/state-token.ts';
import { galChanges } from './directory-changes.ts';

/** Largest delta pushed; beyond it the client gets a resync mark and calls Directory/changes. */
export const MAX_PUSH_CHANGES = 500;

/**
 * Push for `gal:<domainId>`: every account of the domain may follow its own
 * GAL and sees the same view (hidden entries never appear), so all followers
 * share one view key and one encoded frame. The changes payload has the
 * shape of a Directory/changes page (entries by column), so a client applies
 * a push and a page the same way.
 */
export function galFeed(db: Db): ScopeFeed {
  return {
    async authorize(session: Session, scopeId: string): Promise<string> {
      if (scopeId !== galScope(session.account.domainId)) throw new DmciError(ErrorCode.NOT_FOUND, `no such scope ${scopeId}`);
      return 'gal';
    },
    async loadChanges(scopeId: string, fromModseq: number, toModseq: number): Promise<unknown> {
      // A push is a page of the log, never a full sync's encoded page; decodedValue only says so to the types.
      const page = decodedValue(await galChanges(db, scopeKey(ScopeKind.gal, scopeId), encodeState(fromModseq), MAX_PUSH_CHANGES, { upTo: toModseq }));
      return page.hasMoreChanges ? null : page;
    },
  };
}
