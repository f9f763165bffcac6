import type { ConsoleActor } from '../console-sessions.ts';
import type { ConsoleContext, Page, Request } from '../console-routes.ts';
import { managesDomain } from '../console-routes.ts';
import { html, table } from '../html.ts';
import { REPORT_MS, type NodeReport, type NodeView, type Sample } from '../node-report.ts';

/**
 * The dashboard: the cluster's figures, live through /events (Server-Sent
 * Events, console-door.ts) and drawn by assets/dashboard.js with uPlot. A
 * global admin sees the whole cluster; a domain admin the sessions of their
 * domain only (traffic and node figures are the whole server's).
 */
/** The nodes' own figures, summed over the live nodes (a domain admin's sessions figures: their domain's). */
type SummedFigures = Pick<NodeReport, 'connections' | 'sessions' | 'byVersion' | 'byClient' | 'authFailures' | 'requests' | 'errors' | 'ldapBinds' | 'ldapSearches' | 'ldapConnections'>;

export interface DashboardData extends SummedFigures {
  global: boolean;
  requestsPerSecond: number;
  errorsPerSecond: number;
  nodes: Array<{ nodeId: string; version: string; connections: number; sessions: number; stale: boolean; draining: boolean; ageMs: number }>;
  /** uPlot's columns: times (s), connections, sessions, requests/s. */
  chart: [number[], number[], number[], number[]];
}

export function dashboardData(nodes: readonly NodeView[], actor: ConsoleActor): DashboardData {
  const live = nodes.filter((n) => !n.stale);
  const global = actor.role === 'global_admin';
  const add = (into: Record<string, number>, from: Record<string, number>) => {
    for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
  };
  const byVersion: Record<string, number> = {};
  const byClient: Record<string, number> = {};
  let sessions = 0;
  if (global) {
    for (const n of live) {
      add(byVersion, n.byVersion);
      add(byClient, n.byClient);
      sessions += n.sessions;
    }
  } else {
    for (const s of live.flatMap((n) => n.sessionList)) {
      if (!managesDomain(actor, s.domainId)) continue;
      sessions++;
      byVersion[s.version] = (byVersion[s.version] ?? 0) + 1;
      byClient[s.clientName] = (byClient[s.clientName] ?? 0) + 1;
    }
  }
  const total = (pick: (n: NodeView) => number) => (global ? live.reduce((t, n) => t + pick(n), 0) : 0);
  const rates = live.map(rate);
  return {
    global,
    connections: total((n) => n.connections),
    sessions,
    byVersion,
    byClient,
    authFailures: total((n) => n.authFailures),
    requests: total((n) => n.requests),
    errors: total((n) => n.errors),
    requestsPerSecond: global ? round(rates.reduce((t, r) => t + r.requests, 0)) : 0,
    errorsPerSecond: global ? round(rates.reduce((t, r) => t + r.errors, 0)) : 0,
    ldapBinds: total((n) => n.ldapBinds),
    ldapSearches: total((n) => n.ldapSearches),
    ldapConnections: total((n) => n.ldapConnections),
    nodes: global ? nodes.map((n) => ({ nodeId: n.nodeId, version: n.version, connections: n.connections, sessions: n.sessions, stale: n.stale, draining: n.draining, ageMs: Math.round(n.ageMs) })) : [],
    chart: global ? chart(live) : [[], [], [], []],
  };
}

/** A node's samples and, when newer, its report's own figures (this node's are live). */
function samplesOf(node: NodeView): Sample[] {
  const points: Sample[] = [...node.history];
  const last = points.at(-1);
  if (!last || node.at - last[0] >= 1_000) points.push([node.at, node.connections, node.sessions, node.requests, node.errors]);
  return points;
}

/** A node's requests and errors per second over its last report interval. */
function rate(node: NodeView): { requests: number; errors: number } {
  const points = samplesOf(node);
  const end = points.at(-1)!;
  const start = points.findLast((p) => p[0] <= end[0] - 1_000);
  if (!start) return { requests: 0, errors: 0 };
  const seconds = (end[0] - start[0]) / 1000;
  return { requests: (end[3] - start[3]) / seconds, errors: (end[4] - start[4]) / seconds };
}

/** The last hour, every node's samples summed per REPORT_MS bucket. */
function chart(nodes: readonly NodeView[]): DashboardData['chart'] {
  const buckets = new Map<number, [number, number, number]>();
  for (const node of nodes) {
    const samples = samplesOf(node);
    for (let i = 0; i < samples.length; i++) {
      const [t, connections, sessions, requests] = samples[i]!;
      const previous = samples[i - 1];
      const rps = previous && t > previous[0] ? Math.max(0, (requests - previous[3]) / ((t - previous[0]) / 1000)) : 0;
      const key = Math.floor(t / REPORT_MS) * REPORT_MS;
      const bucket = buckets.get(key) ?? [0, 0, 0];
      bucket[0] += connections;
      bucket[1] += sessions;
      bucket[2] += rps;
      buckets.set(key, bucket);
    }
  }
  const keys = [...buckets.keys()].sort((a, b) => a - b);
  return [keys.map((k) => k / 1000), keys.map((k) => buckets.get(k)![0]), keys.map((k) => buckets.get(k)![1]), keys.map((k) => round(buckets.get(k)![2]))];
}

const round = (n: number) => Math.round(n * 10) / 10;

const figure = (id: string, label: string, value: number) => html`<div class="figure"><span class="value" id="${id}" data-figure="${id}">${value}</span><span class="label">${label}</span></div>`;

function breakdown(id: string, counts: Record<string, number>) {
  const rows = Object.entries(counts)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => html`<tr><td>${k}</td><td>${v}</td></tr>`);
  return html`<table class="compact" id="${id}"><tbody>${rows}</tbody></table>`;
}

export async function dashboardPage(ctx: ConsoleContext, req: Request): Promise<Page> {
  const data = dashboardData(await ctx.reporter.nodes(), req.actor);
  const body = data.global
    ? html`<section class="figures">
${figure('connections', 'connections', data.connections)}${figure('sessions', 'sessions', data.sessions)}
${figure('requestsPerSecond', 'requests/s', data.requestsPerSecond)}${figure('errorsPerSecond', 'errors/s', data.errorsPerSecond)}
${figure('authFailures', 'auth failures', data.authFailures)}${figure('ldapBinds', 'LDAP binds', data.ldapBinds)}${figure('ldapSearches', 'LDAP searches', data.ldapSearches)}
</section>
<section><h2>Last hour</h2><div id="chart" class="chart"></div></section>
<section class="columns"><div><h2>Sessions by protocol version</h2>${breakdown('byVersion', data.byVersion)}</div>
<div><h2>Sessions by client</h2>${breakdown('byClient', data.byClient)}</div></section>
<section><h2>Cluster nodes</h2>${table(
        ['node', 'version', 'connections', 'sessions', 'state'],
        data.nodes.map((n) => html`<tr><td>${n.nodeId}</td><td>${n.version}</td><td>${n.connections}</td><td>${n.sessions}</td><td>${n.stale ? `missing (${Math.round(n.ageMs / 1000)} s)` : n.draining ? 'draining' : 'up'}</td></tr>`),
        { id: 'nodes' },
      )}</section>
<p class="hint" id="live">connecting…</p>`
    : html`<section class="figures">${figure('sessions', 'sessions in your domain', data.sessions)}</section>
<section class="columns"><div><h2>Sessions by protocol version</h2>${breakdown('byVersion', data.byVersion)}</div>
<div><h2>Sessions by client</h2>${breakdown('byClient', data.byClient)}</div></section>
<p class="hint" id="live">connecting…</p>`;
  return { title: 'Dashboard', section: '/', body, scripts: ['dashboard.js'], styles: data.global ? ['uPlot.min.css'] : [] };
}
