import { ErrorCode } from '../../../protocol/index.ts';
import { DmciError } from '../../errors.ts';
import { field, managesDomain, type ConsoleContext, type Page, type Request, type Routes } from '../console-routes.ts';
import { form, formatTime, html, table } from '../html.ts';
import type { ReportedSession } from '../node-report.ts';

/** Live connector sessions of every node (from the node reports), filtered, each with a disconnect button. */

export const SESSION_HEADERS = ['account', 'client', 'protocol', 'address', 'node', 'since', ''];

export function sessionRows(req: Request, sessions: readonly ReportedSession[]) {
  return sessions.map(
    (s) => html`<tr data-session="${s.id}"><td>${s.email}</td><td>${s.clientName}</td><td>${s.version}</td><td>${s.address}</td><td>${s.nodeId}</td><td>${formatTime(s.since)}</td>
<td>${form('/sessions/disconnect', req.csrf, req.here, html`<input type="hidden" name="session" value="${s.id}">`, 'Disconnect', { inline: true, danger: true })}</td></tr>`,
  );
}

async function sessionsPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const nodes = await ctx.reporter.nodes();
  const filter = req.query.get('q')?.trim().toLowerCase().slice(0, 320) ?? '';
  const node = req.query.get('node') ?? '';
  const sessions = nodes
    .filter((n) => !n.stale && (!node || n.nodeId === node))
    .flatMap((n) => n.sessionList)
    .filter((s) => managesDomain(req.actor, s.domainId))
    .filter((s) => !filter || s.email.includes(filter) || s.clientName.toLowerCase().includes(filter) || s.address.includes(filter));
  const truncated = nodes.filter((n) => n.sessionsTruncated).map((n) => n.nodeId);
  const body = html`<form method="get" action="/sessions" class="search"><label>Filter <input name="q" value="${filter}" maxlength="320" placeholder="account, client or address"></label>
<label>Node <select name="node"><option value="">all nodes</option>${nodes.map((n) => html`<option value="${n.nodeId}"${n.nodeId === node ? html` selected` : ''}>${n.nodeId}</option>`)}</select></label><button type="submit">Filter</button></form>
${truncated.length > 0 ? html`<p class="hint">Nodes ${truncated.join(', ')} have more sessions than their reports list; filter by account to find one.</p>` : undefined}
<p class="hint"><span id="session-count">${sessions.length}</span> sessions</p>
${table(SESSION_HEADERS, sessionRows(req, sessions), { id: 'sessions', live: true })}`;
  return { title: 'Sessions', section: '/sessions', body, scripts: ['live-table.js'] };
}

export const sessionRoutes: Routes = {
  pages: { '/sessions': sessionsPage },
  actions: {
    '/sessions/disconnect': async (ctx, req, f) => {
      const id = field(f, 'session', 100);
      const session = (await ctx.reporter.nodes(0)).flatMap((n) => n.sessionList).find((s) => s.id === id);
      if (!session) throw new DmciError(ErrorCode.NOT_FOUND, 'that session has ended (or its node has not reported it)');
      // The account service's own rights check: a domain admin gets NOT_FOUND for another domain's account.
      await ctx.services.accounts.get(req.actor, session.email);
      await ctx.reporter.kick(session.id);
      return { message: `disconnected ${session.email} (${session.clientName}) on ${session.nodeId}` };
    },
  },
};
