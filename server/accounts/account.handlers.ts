import { CloseCode } from '../../protocol/index.ts';
import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

/** The latest instant a Date can hold. */
const LATEST_DATE = new Date(8.64e15);

type CoreHandlers = Pick<HandlerTable, 'Core/echo' | 'Session/get' | 'Session/logout' | 'Account/changePassword' | 'Account/getPreferences' | 'Account/setPreferences'>;

export function coreHandlers(services: Services): CoreHandlers {
  return {
    'Core/echo': async (args) => args,
    'Session/get': async (_args, { session }) => ({
      sessionId: session.id,
      version: session.version,
      node: services.nodeId,
      account: { id: session.account.id, email: session.account.email, displayName: session.account.displayName, role: session.account.role, domain: session.account.domain },
    }),
    'Session/logout': async (_args, { session }) => {
      // Only this session's token goes; the account's other sessions keep theirs.
      await services.accounts.revokeSessionTokens(session.account.id, session.id);
      setImmediate(() => session.transport.close(CloseCode.NORMAL, 'logged out'));
      return {};
    },
    'Account/changePassword': async (args, { session }) => {
      // The commit's NOTIFY can reach this node's revocation check before this handler resumes:
      // until the new timestamp is known, this session counts as newer than any change.
      const before = session.passwordChangedAt;
      session.passwordChangedAt = LATEST_DATE;
      try {
        session.passwordChangedAt = await services.accounts.changeOwnPassword(session.account.id, args.currentPassword, args.newPassword, { address: session.remoteAddress });
      } catch (error) {
        session.passwordChangedAt = before;
        throw error;
      }
      const issued = await services.accounts.issueResumeToken(session.account.id, session.id, session.clientName);
      return { resumeToken: issued.token, resumeTokenExpiresAt: issued.expiresAt.toISOString() };
    },
    'Account/getPreferences': async (_args, { session }) => services.accounts.preferences(session.account.id),
    'Account/setPreferences': async (args, { session }) => services.accounts.setPreferences(session.account.id, args),
  };
}
