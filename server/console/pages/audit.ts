import { ErrorCode } from '../../../protocol/index.ts';
import { DmciError } from '../../errors.ts';
import type { ConsoleContext, Page, Request, Routes } from '../console-routes.ts';
import { formatTime, html, table, when } from '../html.ts';

/** The audit log (AuditService.list: a domain admin sees the records of their domain), newest first, paged backwards. */

const PAGE_SIZE = 100;

async function auditPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const user = req.query.get('user')?.trim().toLowerCase().slice(0, 320) || undefined;
  const sinceText = req.query.get('since')?.trim() || undefined;
  const since = sinceText ? new Date(sinceText) : undefined;
  if (since && Number.isNaN(since.getTime())) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'since must be a date, e.g. 2026-11-29 or 2026-11-29T10:00Z');
  const before = Number(req.query.get('before') ?? NaN);
  const entries = await ctx.services.audit.list(req.actor, { user, since, limit: PAGE_SIZE, ...(Number.isSafeInteger(before) && before > 0 ? { beforeId: before } : {}) });
  const rows = entries.map(
    (e) => html`<tr><td>${formatTime(e.at)}</td><td>${e.actor}</td><td>${e.action}</td><td>${e.target ?? ''}</td><td>${e.address ?? ''}</td><td><code>${JSON.stringify(e.detail)}</code></td></tr>`,
  );
  const last = entries.at(-1);
  const next = entries.length === PAGE_SIZE && last ? `/audit?${new URLSearchParams({ ...(user ? { user } : {}), ...(sinceText ? { since: sinceText } : {}), before: String(last.id) }).toString()}` : undefined;
  const body = html`<form method="get" action="/audit" class="search"><label>Account <input name="user" value="${user ?? ''}" maxlength="320" placeholder="login or email"></label>
<label>Since <input name="since" value="${sinceText ?? ''}" maxlength="40" placeholder="2026-11-29"></label><button type="submit">Show</button></form>
${table(['when', 'who', 'action', 'target', 'address', 'detail'], rows, { id: 'audit' })}
${when(next !== undefined, html`<p><a href="${next ?? ''}">Older records</a></p>`)}`;
  return { title: 'Audit log', section: '/audit', body };
}

export const auditRoutes: Routes = { pages: { '/audit': auditPage }, actions: {} };
