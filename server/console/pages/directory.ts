import type { AdminDirectoryEntry, BookingPolicy, DirectoryKind } from '../../../protocol/index.ts';
import { field, parseArgs, type ConsoleContext, type Page, type Request, type Routes } from '../console-routes.ts';
import { form, html, table, when } from '../html.ts';

/**
 * The directory of a domain: people (with an account), contacts (people
 * without one), groups with their members, resources with their booking
 * policy (Admin/resource*).
 */

const PAGE_SIZE = 100;
const VIEWS = { people: 'person', contacts: 'person', groups: 'group', resources: 'resource' } as const satisfies Record<string, DirectoryKind>;
type View = keyof typeof VIEWS;
const viewPath = (id: string) => `/directory/entry?id=${encodeURIComponent(id)}`;

function kindLabel(e: AdminDirectoryEntry): string {
  if (e.kind === 'person') return e.isAccount ? 'person' : 'contact';
  if (e.kind === 'resource') return e.resourceType ?? 'resource';
  return 'group';
}

async function directoryPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const domains = await ctx.services.domains.list(req.actor);
  const domain = req.query.get('domain') ?? domains[0]?.name ?? '';
  const view: View = (Object.keys(VIEWS) as View[]).find((v) => v === req.query.get('view')) ?? 'people';
  const tabs = (Object.keys(VIEWS) as View[]).map(
    (v) => html`<a href="/directory?${new URLSearchParams({ domain, view: v }).toString()}"${v === view ? html` aria-current="page"` : ''}>${v}</a>`,
  );
  const picker = html`<form method="get" action="/directory" class="search"><label>Domain <select name="domain">${domains.map((d) => html`<option${d.name === domain ? html` selected` : ''}>${d.name}</option>`)}</select></label><input type="hidden" name="view" value="${view}"><button type="submit">Show</button></form><nav class="tabs">${tabs}</nav>`;
  if (!domain) return { title: 'Directory', section: '/directory', body: html`${picker}<p class="empty">no domain</p>` };
  const after = req.query.get('after') ?? undefined;
  // People and contacts are both `person` entries: with and without an account.
  const accounts = view === 'people' ? true : view === 'contacts' ? false : undefined;
  const args = parseArgs('Admin/directoryList', { domain, kinds: [VIEWS[view]], limit: PAGE_SIZE, ...(after ? { after } : {}) });
  const page = await ctx.services.directory.adminList(req.actor, args, accounts === undefined ? {} : { accounts });
  const rows = page.entries.map(
    (e) => html`<tr><td><a href="${viewPath(e.id)}">${e.displayName}</a></td><td>${e.email ?? ''}</td><td>${kindLabel(e)}</td><td>${e.kind === 'group' ? String(e.memberIds?.length ?? 0) : e.department ?? e.location ?? ''}</td><td>${e.hidden ? 'hidden' : e.accountDisabled ? 'disabled account' : ''}</td></tr>`,
  );
  const next = page.nextCursor ? `/directory?${new URLSearchParams({ domain, view, after: page.nextCursor }).toString()}` : undefined;
  const body = html`${picker}${table(['name', 'email', 'kind', view === 'groups' ? 'members' : 'department / location', ''], rows, { id: 'directory' })}
${when(next !== undefined, html`<p><a href="${next ?? ''}">Next page</a></p>`)}`;
  return { title: `Directory of ${domain}`, section: '/directory', body };
}

async function entryPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const { id } = parseArgs('Admin/directoryGet', { id: req.query.get('id') ?? '' });
  const entry = await ctx.services.directory.adminGet(req.actor, id);
  const facts = html`<dl class="facts"><dt>Kind</dt><dd>${kindLabel(entry)}</dd><dt>Email</dt><dd>${entry.email ?? ''}</dd><dt>Domain</dt><dd>${entry.domain}</dd>
${entry.aliases.length ? html`<dt>Aliases</dt><dd>${entry.aliases.join(', ')}</dd>` : undefined}
${entry.title ? html`<dt>Title</dt><dd>${entry.title}</dd>` : undefined}${entry.department ? html`<dt>Department</dt><dd>${entry.department}</dd>` : undefined}
${entry.location ? html`<dt>Location</dt><dd>${entry.location}</dd>` : undefined}${entry.capacity !== null ? html`<dt>Capacity</dt><dd>${entry.capacity}</dd>` : undefined}
<dt>Visible in the GAL</dt><dd>${entry.hidden ? 'no (hidden)' : 'yes'}</dd></dl>`;
  let more = html``;
  if (entry.kind === 'group') {
    const members = await Promise.all((entry.memberIds ?? []).slice(0, 200).map((m) => ctx.services.directory.adminGet(req.actor, m)));
    more = html`<section><h2>Members (${entry.memberIds?.length ?? 0})</h2>${table(
      ['name', 'email', 'kind'],
      members.map((m) => html`<tr><td><a href="${viewPath(m.id)}">${m.displayName}</a></td><td>${m.email ?? ''}</td><td>${kindLabel(m)}</td></tr>`),
      { empty: 'no members' },
    )}</section>`;
  } else if (entry.kind === 'resource' && entry.email) {
    const { policy } = await ctx.services.resources.get(req.actor, entry.email);
    more = policyForm(req, entry.email, policy);
  }
  return { title: entry.displayName, section: '/directory', body: html`${facts}${more}` };
}

function policyForm(req: Request, email: string, policy: BookingPolicy) {
  const check = (name: keyof BookingPolicy, label: string) => html`<label class="check"><input type="checkbox" name="${name}" value="true"${policy[name] ? html` checked` : ''}> ${label}</label>`;
  return html`<section><h2>Booking policy</h2>${form(
    '/directory/policy',
    req.csrf,
    req.here,
    html`<input type="hidden" name="email" value="${email}">
<label>Requests <select name="mode">${(['auto', 'approval', 'decline'] as const).map((m) => html`<option value="${m}"${m === policy.mode ? html` selected` : ''}>${m === 'auto' ? 'accept when free' : m === 'approval' ? 'hold for approval' : 'decline all'}</option>`)}</select></label>
${check('declineConflicts', 'decline conflicting requests')}${check('allowRecurring', 'allow recurring meetings')}${check('conflictDetails', 'name the conflicting booking in a decline')}
<label>Longest booking (minutes) <input name="maxDurationMinutes" type="number" min="1" max="100000" value="${policy.maxDurationMinutes}"></label>
<label>Booking window (days) <input name="bookingWindowDays" type="number" min="1" max="3650" value="${policy.bookingWindowDays}"></label>
<label>Who may book (addresses, comma-separated; empty: everyone of the domain) <input name="allowedBookers" value="${policy.allowedBookers.join(', ')}" maxlength="10000"></label>`,
    'Save policy',
  )}</section>`;
}

export const directoryRoutes: Routes = {
  pages: { '/directory': directoryPage, '/directory/entry': entryPage },
  actions: {
    '/directory/policy': async (ctx, req, f) => {
      const bookers = (f.get('allowedBookers') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
      const args = parseArgs('Admin/resourceSetPolicy', {
        email: field(f, 'email'),
        policy: {
          mode: f.get('mode') ?? '',
          declineConflicts: f.get('declineConflicts') === 'true',
          allowRecurring: f.get('allowRecurring') === 'true',
          conflictDetails: f.get('conflictDetails') === 'true',
          maxDurationMinutes: Number(f.get('maxDurationMinutes')),
          bookingWindowDays: Number(f.get('bookingWindowDays')),
          allowedBookers: bookers,
        },
      });
      await ctx.services.resources.setPolicy(req.actor, args.email, args.policy);
      return { message: `saved the booking policy of ${args.email}` };
    },
  },
};
