import { CloseCode } from '../../protocol/index.ts';
import { sendHints, type ClusterBus } from '../cluster/cluster-bus.ts';
import type { Db } from '../db/database.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { SessionRegistry } from '../sessions/session-registry.ts';
import { deleteNodeReport, readNodeReports, upsertNodeReport } from './console.repository.ts';

/**
 * What each node tells the console about itself. Sessions live in each
 * node's memory (SessionRegistry), so every node writes a report to
 * cluster_nodes every REPORT_MS: its counts, its live sessions (at most
 * MAX_REPORTED_SESSIONS) and the last hour of samples. Whichever node an
 * admin's browser reaches reads them all; its own numbers it takes live.
 * Disconnecting a session is a `kick` hint: the node holding it closes it.
 */
export const REPORT_MS = 5_000;
/** One hour of samples at REPORT_MS. */
export const HISTORY_SAMPLES = 3_600_000 / REPORT_MS;
/** Sessions a report lists; the counts are always complete. */
export const MAX_REPORTED_SESSIONS = 2_000;
/** A node not heard from for this long is shown as missing; after FORGET_MS it is dropped. */
export const STALE_MS = 3 * REPORT_MS;
export const FORGET_MS = 3_600_000;

export interface ReportedSession {
  id: string;
  nodeId: string;
  email: string;
  domainId: string;
  clientName: string;
  version: number;
  address: string;
  since: string;
}

/** [epoch ms, connections, sessions, requests so far, errors so far] */
export type Sample = [number, number, number, number, number];

export interface NodeReport {
  nodeId: string;
  version: string;
  startedAt: string;
  at: number;
  draining: boolean;
  connections: number;
  sessions: number;
  ldapConnections: number;
  byVersion: Record<string, number>;
  byClient: Record<string, number>;
  /** Counters since the node started. */
  requests: number;
  errors: number;
  authFailures: number;
  ldapBinds: number;
  ldapSearches: number;
  sessionList: ReportedSession[];
  sessionsTruncated: boolean;
  history: Sample[];
}

export type NodeView = NodeReport & { ageMs: number; stale: boolean };

export interface NodeReporterDeps {
  db: Db;
  bus: ClusterBus;
  log: Logger;
  metrics: Metrics;
  sessions: SessionRegistry;
  nodeId: string;
  version: string;
  startedAt: string;
  connections: () => number;
  draining: () => boolean;
}

export class NodeReporter {
  private readonly history: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private cached: { at: number; nodes: Promise<NodeView[]> } | undefined;

  constructor(private readonly deps: NodeReporterDeps) {
    deps.bus.on('hint', (hint) => {
      if (hint.kind !== 'kick') return;
      const session = deps.sessions.get(hint.sessionId);
      if (!session) return;
      session.log.info({ sessionId: session.id }, 'session disconnected by an admin');
      session.transport.close(CloseCode.SESSION_REVOKED, 'disconnected by an admin');
    });
  }

  start(): void {
    const tick = () => {
      this.writing = this.writing.then(() => this.sampleAndWrite());
    };
    tick();
    this.timer = setInterval(tick, REPORT_MS);
    this.timer.unref();
  }

  /** Stops reporting and removes this node's report: a node that stopped cleanly leaves the list at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.writing;
    await deleteNodeReport(this.deps.db, this.deps.nodeId).catch((error: unknown) => this.deps.log.warn({ err: error }, 'could not remove the node report'));
  }

  /** Asks every node to close a session (the one holding it does). */
  async kick(sessionId: string): Promise<void> {
    await sendHints(this.deps.db, [{ kind: 'kick', sessionId }]);
  }

  /** Every node's latest report, this node's live; shared for `maxAgeMs` by every reader (dashboard streams poll it). */
  nodes(maxAgeMs = 1_000): Promise<NodeView[]> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < maxAgeMs) return this.cached.nodes;
    const nodes = this.readNodes();
    this.cached = { at: now, nodes };
    nodes.catch(() => (this.cached = undefined));
    return nodes;
  }

  private async readNodes(): Promise<NodeView[]> {
    const [rows, own] = await Promise.all([readNodeReports(this.deps.db, FORGET_MS), this.report()]);
    const views: NodeView[] = [{ ...own, ageMs: 0, stale: false }];
    for (const row of rows) {
      if (row.node_id === this.deps.nodeId) continue;
      const ageMs = Number(row.age_ms);
      views.push({ ...(row.report as NodeReport), ageMs, stale: ageMs > STALE_MS });
    }
    return views;
  }

  /** This node's report, now. */
  async report(): Promise<NodeReport> {
    const { metrics, sessions } = this.deps;
    const byVersion: Record<string, number> = {};
    const byClient: Record<string, number> = {};
    const sessionList: ReportedSession[] = [];
    for (const s of sessions.all()) {
      byVersion[s.version] = (byVersion[s.version] ?? 0) + 1;
      byClient[s.clientName] = (byClient[s.clientName] ?? 0) + 1;
      if (sessionList.length < MAX_REPORTED_SESSIONS) {
        sessionList.push({ id: s.id, nodeId: this.deps.nodeId, email: s.account.email, domainId: s.account.domainId, clientName: s.clientName, version: s.version, address: s.remoteAddress, since: s.authenticatedAt.toISOString() });
      }
    }
    const requests = await counterValues(metrics.requests);
    return {
      nodeId: this.deps.nodeId,
      version: this.deps.version,
      startedAt: this.deps.startedAt,
      at: Date.now(),
      draining: this.deps.draining(),
      connections: this.deps.connections(),
      sessions: sessions.size,
      ldapConnections: sum(await counterValues(metrics.ldapConnections)),
      byVersion,
      byClient,
      requests: sum(requests),
      errors: sum(requests.filter((v) => v.labels.outcome !== 'ok')),
      authFailures: sum(await counterValues(metrics.authFailures)),
      ldapBinds: sum(await counterValues(metrics.ldapBinds)),
      ldapSearches: sum(await counterValues(metrics.ldapSearches)),
      sessionList,
      sessionsTruncated: sessions.size > sessionList.length,
      history: this.history,
    };
  }

  private async sampleAndWrite(): Promise<void> {
    try {
      const report = await this.report();
      this.history.push([report.at, report.connections, report.sessions, report.requests, report.errors]);
      if (this.history.length > HISTORY_SAMPLES) this.history.splice(0, this.history.length - HISTORY_SAMPLES);
      await upsertNodeReport(this.deps.db, this.deps.nodeId, { ...report, history: this.history });
    } catch (error) {
      this.deps.log.warn({ err: error }, 'node report not written; will retry');
    }
  }
}

type MetricValue = { value: number; labels: Record<string, string | number | undefined> };

async function counterValues(metric: { get(): Promise<{ values: MetricValue[] }> | { values: MetricValue[] } }): Promise<MetricValue[]> {
  return (await metric.get()).values;
}

function sum(values: readonly MetricValue[]): number {
  return values.reduce((total, v) => total + v.value, 0);
}
