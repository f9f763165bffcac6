import { ErrorCode } from '../../../protocol/index.ts';
import { DmciError } from '../../errors.ts';
import { SCREEN_LISTS, type ScreenList } from '../../security/screen.table.ts';
import { field, type ConsoleContext, type Page, type Request, type Routes } from '../console-routes.ts';
import { form, formatTime, html, table } from '../html.ts';

/**
 * Screening (ScreenService, global admins only; the service refuses anyone
 * else): blocks in force with reason, count and expiry; unblock; block;
 * the trusted-host and IP/host allow/deny lists. Changes reach every node
 * through PostgreSQL and the `screen` hint.
 */

const LIST_LABELS: Record<ScreenList, string> = { trusted: 'trusted hosts', ip_allow: 'IP allow', ip_deny: 'IP deny', host_allow: 'host allow', host_deny: 'host deny' };

async function screeningPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const { blocks, rules } = await ctx.services.screen.overview(req.actor);
  const blockRows = blocks.map(
    (b) => html`<tr data-block="${b.key}"><td>${b.key}</td><td>${b.reason}</td><td>${b.source}</td><td>${b.count}</td><td>${formatTime(b.blockedAt)}</td><td>${formatTime(b.until)}</td><td>${b.by}</td>
<td>${form('/screening/unblock', req.csrf, req.here, html`<input type="hidden" name="target" value="${b.key}">`, 'Unblock', { inline: true })}</td></tr>`,
  );
  const ruleRows = rules.map(
    (r) => html`<tr><td>${LIST_LABELS[r.list]}</td><td>${r.value}</td><td>${r.note}</td><td>${r.source === 'config' ? 'configuration' : `${r.by ?? ''} ${formatTime(r.createdAt)}`}</td>
<td>${r.source === 'config' ? 'change the configuration' : form('/screening/remove', req.csrf, req.here, html`<input type="hidden" name="list" value="${r.list}"><input type="hidden" name="value" value="${r.value}">`, 'Remove', { inline: true })}</td></tr>`,
  );
  const listOptions = SCREEN_LISTS.map((l) => html`<option value="${l}">${LIST_LABELS[l]}</option>`);
  const body = html`<section><h2>Blocked addresses</h2>${table(['address or range', 'reason', 'source', 'count', 'since', 'until', 'by', ''], blockRows, { id: 'blocks' })}
${form(
    '/screening/block',
    req.csrf,
    req.here,
    html`<label>Address or range <input name="target" required maxlength="64" placeholder="203.0.113.7 or 203.0.113.0/24"></label>
<label>Reason <input name="reason" maxlength="500"></label><label>For (hours) <input name="hours" type="number" min="1" max="8760" value="24"></label>`,
    'Block',
  )}</section>
<section><h2>Trusted hosts and allow/deny lists</h2>${table(['list', 'value', 'note', 'added', ''], ruleRows, { id: 'rules' })}
${form('/screening/add', req.csrf, req.here, html`<label>List <select name="list">${listOptions}</select></label><label>Value <input name="value" required maxlength="253"></label><label>Note <input name="note" maxlength="500"></label>`, 'Add')}</section>`;
  return { title: 'Screening', section: '/screening', body };
}

function list(f: URLSearchParams): ScreenList {
  const value = field(f, 'list', 20);
  const known = SCREEN_LISTS.find((l) => l === value);
  if (!known) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `list must be one of ${SCREEN_LISTS.join(', ')}`);
  return known;
}

export const screeningRoutes: Routes = {
  pages: { '/screening': screeningPage },
  actions: {
    '/screening/unblock': async (ctx, req, f) => {
      const lifted = await ctx.services.screen.unblock(req.actor, field(f, 'target', 64));
      return { message: `unblocked ${lifted.map((b) => b.key).join(', ')}` };
    },
    '/screening/block': async (ctx, req, f) => {
      const hours = Number(f.get('hours') || 24);
      if (!Number.isFinite(hours)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'hours must be a number');
      const block = await ctx.services.screen.block(req.actor, field(f, 'target', 64), { reason: f.get('reason')?.trim().slice(0, 500) ?? '', forMs: Math.round(hours * 3_600_000) });
      return { message: `blocked ${block.key} until ${formatTime(block.until)}` };
    },
    '/screening/add': async (ctx, req, f) => {
      const rule = await ctx.services.screen.addRule(req.actor, list(f), field(f, 'value', 253), f.get('note')?.trim().slice(0, 500) ?? '');
      return { message: `added ${rule.value} to ${LIST_LABELS[rule.list]}` };
    },
    '/screening/remove': async (ctx, req, f) => {
      const which = list(f);
      const value = field(f, 'value', 253);
      await ctx.services.screen.removeRule(req.actor, which, value);
      return { message: `removed ${value} from ${LIST_LABELS[which]}` };
    },
  },
};
