import type { ConsoleActor } from './console-sessions.ts';

/**
 * HTML for the console, built with one tagged template: every interpolated
 * value is escaped unless it is already `Html` (made by this template), so
 * no page can forget to escape a name an admin or an import typed in.
 */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = Html | string | number | boolean | null | undefined | readonly Value[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function render(value: Value): string {
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map((v) => render(v as Value)).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Value[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** A POST form carrying the session's CSRF token and the page to come back to. */
export function form(action: string, csrf: string, back: string, fields: Html, button: string, options: { inline?: boolean; danger?: boolean } = {}): Html {
  return html`<form method="post" action="${action}"${options.inline ? new Html(' class="inline"') : ''}><input type="hidden" name="csrf" value="${csrf}"><input type="hidden" name="back" value="${back}">${fields}<button type="submit"${options.danger ? new Html(' class="danger"') : ''}>${button}</button></form>`;
}

/** A table; with an `id` it is rendered even when empty (live updates fill it), `live` marks it for assets/live-table.js. */
export function table(headers: readonly string[], rows: readonly Html[], options: { empty?: string; id?: string; live?: boolean } = {}): Html {
  if (rows.length === 0 && !options.id) return html`<p class="empty">${options.empty ?? 'nothing here'}</p>`;
  const attributes = html`${options.id ? html` id="${options.id}"` : ''}${options.live ? html` data-live="1"` : ''}`;
  return html`<table${attributes}><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function when(condition: boolean, content: Html): Html | undefined {
  return condition ? content : undefined;
}

export function formatTime(iso: string | Date | null | undefined): string {
  if (!iso) return '';
  const date = typeof iso === 'string' ? new Date(iso) : iso;
  return date.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

const NAV: ReadonlyArray<{ path: string; label: string; globalOnly?: boolean }> = [
  { path: '/', label: 'Dashboard' },
  { path: '/accounts', label: 'Accounts' },
  { path: '/domains', label: 'Domains' },
  { path: '/directory', label: 'Directory' },
  { path: '/sessions', label: 'Sessions' },
  { path: '/screening', label: 'Screening', globalOnly: true },
  { path: '/audit', label: 'Audit log' },
];

export interface PageFrame {
  title: string;
  /** The nav entry to highlight. */
  section: string;
  actor: ConsoleActor;
  csrf: string;
  flash: string | null;
  /** Browser modules under /assets/ this page loads. */
  scripts?: readonly string[];
  styles?: readonly string[];
}

export function layout(frame: PageFrame, body: Html): string {
  const { actor } = frame;
  const flash = frame.flash ? html`<p class="flash ${frame.flash.startsWith('error') ? 'bad' : 'good'}" role="status">${frame.flash}</p>` : undefined;
  const nav = NAV.filter((n) => !n.globalOnly || actor.role === 'global_admin').map(
    (n) => html`<a href="${n.path}"${n.path === frame.section ? new Html(' aria-current="page"') : ''}>${n.label}</a>`,
  );
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${frame.title} · dmci console</title>
<link rel="stylesheet" href="/assets/console.css">${(frame.styles ?? []).map((s) => html`<link rel="stylesheet" href="/assets/${s}">`)}
${(frame.scripts ?? []).map((s) => html`<script type="module" src="/assets/${s}"></script>`)}
</head><body>
<header><strong>dmci console</strong><nav>${nav}</nav>
<span class="who">${actor.email} (${actor.role === 'global_admin' ? 'global admin' : 'domain admin'})</span>
${form('/logout', frame.csrf, '/', html``, 'Log out', { inline: true })}</header>
<main><h1>${frame.title}</h1>${flash}${body}</main></body></html>`.text;
}

/** The login page (no session yet: its form carries the pre-login token instead). */
export function loginPage(loginToken: string, message: string | undefined): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in · dmci console</title><link rel="stylesheet" href="/assets/console.css"></head>
<body class="login"><main><h1>dmci console</h1>
${message ? html`<p class="flash bad" role="alert">${message}</p>` : undefined}
<form method="post" action="/login"><input type="hidden" name="token" value="${loginToken}">
<label>Email <input name="login" type="email" autocomplete="username" required maxlength="320" autofocus></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Log in</button></form>
<p class="hint">A dmci global or domain admin account.</p></main></body></html>`.text;
}

/** A plain page for refusals that have no session to show them in. */
export function messagePage(title: string, message: string): string {
  return html`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${title} · dmci console</title><link rel="stylesheet" href="/assets/console.css"></head>
<body class="login"><main><h1>${title}</h1><p>${message}</p><p><a href="/login">Log in</a></p></main></body></html>`.text;
}
