import { createServer, type Server } from 'node:http';
import type { Logger } from '../log/logger.ts';
import { listenOn } from '../net/listen.ts';
import type { Metrics } from './metrics.ts';

export interface Readiness {
  ready: boolean;
  checks: Record<string, { ok: boolean; detail?: string }>;
}

export interface StatusSnapshot {
  nodeId: string;
  version: string;
  startedAt: string;
  connections: number;
  sessions: number;
  draining: boolean;
}

/**
 * The ops door on 8391: /healthz (the process is up), /readyz (database
 * reachable, migrations applied, not draining: take traffic), /metrics
 * (Prometheus text) and / (a small live status page).
 */
export class OpsServer {
  private readonly server: Server;

  constructor(
    private readonly deps: { metrics: Metrics; log: Logger; readiness: () => Promise<Readiness>; status: () => StatusSnapshot },
  ) {
    this.server = createServer((req, res) => {
      this.route(req.url ?? '/')
        .then(({ status, type, body }) => {
          res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
          res.end(body);
        })
        .catch((error: unknown) => {
          deps.log.error({ err: error }, 'ops request failed');
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end('internal error\n');
        });
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 15_000;
  }

  async listen(port: number, host: string): Promise<number> {
    return listenOn(this.server, port, host, this.deps.log, 'ops door');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async route(url: string): Promise<{ status: number; type: string; body: string }> {
    const path = url.split('?')[0];
    switch (path) {
      case '/healthz':
        return { status: 200, type: 'application/json', body: JSON.stringify({ status: 'ok' }) + '\n' };
      case '/readyz': {
        const readiness = await this.deps.readiness();
        return { status: readiness.ready ? 200 : 503, type: 'application/json', body: JSON.stringify(readiness) + '\n' };
      }
      case '/metrics':
        return { status: 200, type: this.deps.metrics.registry.contentType, body: await this.deps.metrics.registry.metrics() };
      case '/':
      case '/status':
        return { status: 200, type: 'text/html; charset=utf-8', body: statusPage(this.deps.status(), await this.deps.readiness()) };
      case '/status.json':
        return { status: 200, type: 'application/json', body: JSON.stringify(this.deps.status()) + '\n' };
      default:
        return { status: 404, type: 'text/plain', body: 'not found: try /healthz, /readyz, /metrics, /status\n' };
    }
  }
}

function statusPage(status: StatusSnapshot, readiness: Readiness): string {
  const escape = (text: string) => text.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
  const rows = Object.entries(readiness.checks)
    .map(([name, check]) => `<tr><td>${escape(name)}</td><td>${check.ok ? 'ok' : 'FAIL'}</td><td>${escape(check.detail ?? '')}</td></tr>`)
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>dmci ${escape(status.nodeId)}</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.2rem .8rem;text-align:left}</style></head><body>
<h1>dmci node ${escape(status.nodeId)}</h1>
<p>version ${escape(status.version)}, up since ${escape(status.startedAt)}${status.draining ? ', <strong>draining</strong>' : ''}</p>
<table><tr><th>open connections</th><td>${status.connections}</td></tr><tr><th>authenticated sessions</th><td>${status.sessions}</td></tr></table>
<h2>readiness: ${readiness.ready ? 'ready' : 'NOT READY'}</h2><table><tr><th>check</th><th>state</th><th>detail</th></tr>${rows}</table>
<p><a href="/metrics">/metrics</a> · <a href="/status.json">/status.json</a> · refreshes every 5 s</p></body></html>`;
}
