import { CloseCode } from '../../protocol/index.ts';
import type { HandlerTable } from '../gateway/request-context.ts';
import type { Services } from '../services.ts';

type CoreHandlers = Pick<HandlerTable, 'Core/echo' | 'Session/get' | 'Session/logout' | 'Account/changePassword'>;

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
      session.passwordChangedAt = await services.accounts.changeOwnPassword(session.account.id, args.currentPassword, args.newPassword);
      const issued = await services.accounts.issueResumeToken(session.account.id, session.id, session.clientName);
      return { resumeToken: issued.token, resumeTokenExpiresAt: issued.expiresAt.toISOString() };
    },
  };
}
