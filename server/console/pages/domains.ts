import { field, parseArgs, type ConsoleContext, type Page, type Request, type Routes } from '../console-routes.ts';
import { form, formatTime, html, table, when } from '../html.ts';

/** Domains: the list (a domain admin sees its own), creating one (global admins), cross-domain sharing, the calendar attendant. */

/** A domain's on/off setting and the button that turns it the other way. */
function toggle(req: Request, action: string, name: string, field: string, on: boolean) {
  return form(action, req.csrf, req.here, html`<input type="hidden" name="name" value="${name}"><input type="hidden" name="${field}" value="${on ? 'false' : 'true'}">${on ? 'on ' : 'off '}`, on ? 'Turn off' : 'Turn on', { inline: true });
}

async function domainsPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const domains = await ctx.services.domains.list(req.actor);
  const rows = domains.map(
    (d) => html`<tr><td><a href="/directory?domain=${encodeURIComponent(d.name)}">${d.name}</a></td><td>${d.accountCount}</td><td>${formatTime(d.createdAt)}</td>
<td>${toggle(req, '/domains/sharing', d.name, 'crossDomainSharing', d.crossDomainSharing)}</td>
<td>${toggle(req, '/domains/attendant', d.name, 'calendarAttendant', d.calendarAttendant)}</td></tr>`,
  );
  const body = html`${table(['domain', 'accounts', 'created', 'cross-domain sharing', 'calendar attendant'], rows, { id: 'domains' })}
${when(
    req.actor.role === 'global_admin',
    html`<section><h2>Create a domain</h2>${form('/domains/create', req.csrf, req.here, html`<label>Name <input name="name" required maxlength="253" placeholder="example.com"></label>`, 'Create')}</section>`,
  )}`;
  return { title: 'Domains', section: '/domains', body };
}

export const domainRoutes: Routes = {
  pages: { '/domains': domainsPage },
  actions: {
    '/domains/create': async (ctx, req, f) => {
      const { name } = parseArgs('Admin/domainCreate', { name: field(f, 'name', 253).toLowerCase() });
      const domain = await ctx.services.domains.create(req.actor, name);
      return { message: `created domain ${domain.name}` };
    },
    '/domains/sharing': async (ctx, req, f) => {
      const args = parseArgs('Admin/domainUpdate', { name: field(f, 'name', 253), crossDomainSharing: f.get('crossDomainSharing') === 'true' });
      const domain = await ctx.services.domains.update(req.actor, args.name, { crossDomainSharing: args.crossDomainSharing });
      return { message: `cross-domain sharing of ${domain.name} is ${domain.crossDomainSharing ? 'on' : 'off'}` };
    },
    '/domains/attendant': async (ctx, req, f) => {
      const args = parseArgs('Admin/domainUpdate', { name: field(f, 'name', 253), calendarAttendant: f.get('calendarAttendant') === 'true' });
      const domain = await ctx.services.domains.update(req.actor, args.name, { calendarAttendant: args.calendarAttendant });
      return { message: `the calendar attendant of ${domain.name} is ${domain.calendarAttendant ? 'on' : 'off'}` };
    },
  },
};
