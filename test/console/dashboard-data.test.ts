import { describe, expect, it } from 'vitest';
import type { ConsoleActor } from '../../server/console/console-sessions.ts';
import type { NodeView, ReportedSession } from '../../server/console/node-report.ts';
import { dashboardData } from '../../server/console/pages/dashboard.ts';

/** The dashboard's figures from node reports: sums, rates, and what a domain admin may see. */
const session = (nodeId: string, domainId: string, clientName: string): ReportedSession => ({ id: `${nodeId}-${clientName}`, nodeId, email: `x@${domainId}`, domainId, clientName, version: 1, address: '127.0.0.1', since: new Date(0).toISOString() });

function node(nodeId: string, sessions: ReportedSession[], extra: Partial<NodeView> = {}): NodeView {
  const at = 1_000_000;
  return {
    nodeId,
    version: '0.1.0',
    startedAt: new Date(0).toISOString(),
    at,
    draining: false,
    connections: sessions.length + 1,
    sessions: sessions.length,
    ldapConnections: 0,
    byVersion: { 1: sessions.length },
    byClient: Object.fromEntries(sessions.map((s) => [s.clientName, 1])),
    requests: 100,
    errors: 10,
    authFailures: 2,
    ldapBinds: 3,
    ldapSearches: 4,
    sessionList: sessions,
    sessionsTruncated: false,
    history: [[at - 5_000, 1, 1, 50, 5]],
    ageMs: 0,
    stale: false,
    ...extra,
  };
}

const global: ConsoleActor = { kind: 'account', accountId: 'g', role: 'global_admin', domainId: 'd1', email: 'g@d1' };
const domainAdmin: ConsoleActor = { kind: 'account', accountId: 'a', role: 'domain_admin', domainId: 'd1', email: 'a@d1' };

describe('dashboardData', () => {
  const nodes = [node('n1', [session('n1', 'd1', 'outlook'), session('n1', 'd2', 'thunderbird')]), node('n2', [session('n2', 'd2', 'outlook')]), node('n3', [session('n3', 'd1', 'gone')], { stale: true, ageMs: 60_000 })];

  it('sums live nodes for a global admin and derives rates from the samples', () => {
    const data = dashboardData(nodes, global);
    expect(data.sessions).toBe(3);
    expect(data.connections).toBe(5);
    expect(data.byClient).toEqual({ outlook: 2, thunderbird: 1 });
    expect(data.authFailures).toBe(4);
    // 50 requests and 5 errors in 5 s on each of two live nodes.
    expect(data.requestsPerSecond).toBe(20);
    expect(data.errorsPerSecond).toBe(2);
    expect(data.nodes.map((n) => [n.nodeId, n.stale])).toEqual([['n1', false], ['n2', false], ['n3', true]]);
  });

  it("shows a domain admin only their domain's sessions and nothing of the server", () => {
    const data = dashboardData(nodes, domainAdmin);
    expect(data.sessions).toBe(1);
    expect(data.byClient).toEqual({ outlook: 1 });
    expect(data.nodes).toEqual([]);
    expect(data.connections + data.requests + data.authFailures + data.ldapBinds).toBe(0);
    expect(data.chart).toEqual([[], [], [], []]);
  });
});
