import type { Role } from '../../../protocol/index.ts';
import { field, parseArgs, type ConsoleContext, type Done, type Page, type Request, type Routes } from '../console-routes.ts';
import { form, formatTime, html, table, when } from '../html.ts';
import { sessionRows, SESSION_HEADERS } from './sessions.ts';

/** Accounts: search, create, enable/disable, reset password, role, language, and the account's live sessions. */

const PAGE_SIZE = 50;
const viewPath = (email: string) => `/accounts/view?email=${encodeURIComponent(email)}`;
const roleLabel = (role: Role) => (role === 'global_admin' ? 'global admin' : role === 'domain_admin' ? 'domain admin' : 'user');

function roleOptions(req: Request, selected: Role = 'user') {
  const roles: Role[] = req.actor.role === 'global_admin' ? ['user', 'domain_admin', 'global_admin'] : ['user', 'domain_admin'];
  return roles.map((r) => html`<option value="${r}"${r === selected ? html` selected` : ''}>${roleLabel(r)}</option>`);
}

async function listPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const search = req.query.get('q')?.trim().slice(0, 320) ?? '';
  const after = req.query.get('after')?.slice(0, 320) || undefined;
  const page = await ctx.services.accounts.list(req.actor, { limit: PAGE_SIZE, ...(search ? { search } : {}), ...(after ? { after } : {}) });
  const rows = page.accounts.map(
    (a) => html`<tr><td><a href="${viewPath(a.email)}">${a.email}</a></td><td>${a.displayName}</td><td>${roleLabel(a.role)}</td><td>${a.enabled ? 'enabled' : 'disabled'}</td></tr>`,
  );
  const last = page.accounts.at(-1);
  const next = page.hasMore && last ? `/accounts?${new URLSearchParams({ ...(search ? { q: search } : {}), after: last.email })}` : undefined;
  const body = html`<form method="get" action="/accounts" class="search"><label>Search <input name="q" value="${search}" maxlength="320" placeholder="email or name"></label><button type="submit">Search</button></form>
${table(['email', 'name', 'role', 'state'], rows, { id: 'accounts' })}
${when(next !== undefined, html`<p><a href="${next ?? ''}">Next page</a></p>`)}
<section><h2>Create an account</h2>${form(
    '/accounts/create',
    req.csrf,
    req.here,
    html`<label>Email <input name="email" type="email" required maxlength="320"></label>
<label>Display name <input name="displayName" required maxlength="256"></label>
<label>Password <input name="password" type="password" required autocomplete="new-password"></label>
<label>Role <select name="role">${roleOptions(req)}</select></label>`,
    'Create',
  )}</section>`;
  return { title: 'Accounts', section: '/accounts', body };
}

async function viewPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const { email } = parseArgs('Admin/accountGet', { email: req.query.get('email') ?? '' });
  const account = await ctx.services.accounts.get(req.actor, email);
  const sessions = (await ctx.reporter.nodes()).filter((n) => !n.stale).flatMap((n) => n.sessionList).filter((s) => s.email === account.email);
  const body = html`<dl class="facts"><dt>Email</dt><dd>${account.email}</dd><dt>Name</dt><dd>${account.displayName}</dd><dt>Domain</dt><dd>${account.domain}</dd>
<dt>Role</dt><dd id="role">${roleLabel(account.role)}</dd><dt>State</dt><dd id="state">${account.enabled ? 'enabled' : 'disabled'}</dd><dt>Language</dt><dd id="language">${account.language ?? 'not set (English)'}</dd><dt>Created</dt><dd>${formatTime(account.createdAt)}</dd></dl>
<section class="actions">
${account.enabled
    ? form('/accounts/disable', req.csrf, req.here, html`<input type="hidden" name="email" value="${account.email}">`, 'Disable', { danger: true })
    : form('/accounts/enable', req.csrf, req.here, html`<input type="hidden" name="email" value="${account.email}">`, 'Enable')}
${form('/accounts/password', req.csrf, req.here, html`<input type="hidden" name="email" value="${account.email}"><label>New password <input name="password" type="password" required autocomplete="new-password"></label>`, 'Reset password')}
${form('/accounts/role', req.csrf, req.here, html`<input type="hidden" name="email" value="${account.email}"><label>Role <select name="role">${roleOptions(req, account.role)}</select></label>`, 'Change role')}
${form('/accounts/language', req.csrf, req.here, html`<input type="hidden" name="email" value="${account.email}"><label>Language (BCP 47 tag like de or fr-CA; empty: not set) <input name="language" maxlength="35" value="${account.language ?? ''}"></label>`, 'Change language')}
</section>
<section><h2>Live sessions</h2>${table(SESSION_HEADERS, sessionRows(req, sessions), { id: 'account-sessions', live: true })}</section>`;
  return { title: account.displayName, section: '/accounts', body, scripts: ['live-table.js'] };
}

const email = (f: URLSearchParams) => field(f, 'email');

export const accountRoutes: Routes = {
  pages: { '/accounts': listPage, '/accounts/view': viewPage },
  actions: {
    '/accounts/create': async (ctx, req, f): Promise<Done> => {
      const args = parseArgs('Admin/accountCreate', { email: email(f).toLowerCase(), displayName: field(f, 'displayName', 256), password: f.get('password') ?? '', role: f.get('role') ?? 'user' });
      const { account } = await ctx.services.accounts.create(req.actor, args);
      return { message: `created ${account.email}`, back: viewPath(account.email) };
    },
    '/accounts/disable': async (ctx, req, f) => {
      const { email: target } = parseArgs('Admin/accountDisable', { email: email(f) });
      await ctx.services.accounts.setEnabled(req.actor, target, false);
      return { message: `disabled ${target}: its sessions close on every node` };
    },
    '/accounts/enable': async (ctx, req, f) => {
      const { email: target } = parseArgs('Admin/accountEnable', { email: email(f) });
      await ctx.services.accounts.setEnabled(req.actor, target, true);
      return { message: `enabled ${target}` };
    },
    '/accounts/password': async (ctx, req, f) => {
      const args = parseArgs('Admin/accountSetPassword', { email: email(f), password: f.get('password') ?? '' });
      await ctx.services.accounts.setPassword(req.actor, args.email, args.password);
      return { message: `set a new password for ${args.email}: its sessions close` };
    },
    '/accounts/role': async (ctx, req, f) => {
      const args = parseArgs('Admin/accountUpdate', { email: email(f), role: f.get('role') ?? '' });
      const account = await ctx.services.accounts.update(req.actor, args.email, { ...(args.role ? { role: args.role } : {}) });
      return { message: `${account.email} is now a ${roleLabel(account.role)}` };
    },
    '/accounts/language': async (ctx, req, f) => {
      const args = parseArgs('Admin/accountUpdate', { email: email(f), language: f.get('language')?.trim() || null });
      const account = await ctx.services.accounts.update(req.actor, args.email, { language: args.language ?? null });
      return { message: `${account.email}: language ${account.language ?? 'not set (English)'}` };
    },
  },
};
