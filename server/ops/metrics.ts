import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';

/**
 * Every Prometheus metric dmci exports, in one place so names stay consistent.
 * Method labels come from the protocol's method table (unknown names are
 * counted as "unknown"), so a hostile client cannot grow label cardinality.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly connectionsOpen = new Gauge({ name: 'dmci_connections_open', help: 'Open WebSocket connections on 8390, authenticated or not', registers: [this.registry] });
  readonly sessionsAuthenticated = new Gauge({ name: 'dmci_sessions_authenticated', help: 'Authenticated sessions on this node', registers: [this.registry] });
  readonly sessionsByVersion = new Gauge({ name: 'dmci_sessions_by_protocol_version', help: 'Authenticated sessions by negotiated protocol version', labelNames: ['version'] as const, registers: [this.registry] });
  readonly authFailures = new Counter({ name: 'dmci_auth_failures_total', help: 'Failed handshakes by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly authSuccesses = new Counter({ name: 'dmci_auth_successes_total', help: 'Successful handshakes by method (password, resume)', labelNames: ['method'] as const, registers: [this.registry] });
  readonly requests = new Counter({ name: 'dmci_requests_total', help: 'Requests by method and outcome (ok or an error code)', labelNames: ['method', 'outcome'] as const, registers: [this.registry] });
  readonly requestDuration = new Histogram({
    name: 'dmci_request_duration_seconds',
    help: 'Request latency from decode to response by method',
    labelNames: ['method'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly bytesIn = new Counter({ name: 'dmci_bytes_received_total', help: 'WebSocket payload bytes received', registers: [this.registry] });
  readonly bytesOut = new Counter({ name: 'dmci_bytes_sent_total', help: 'WebSocket payload bytes sent', registers: [this.registry] });
  readonly protocolErrors = new Counter({ name: 'dmci_protocol_errors_total', help: 'Sockets closed for a protocol violation, by close code name', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly pushFrames = new Counter({ name: 'dmci_push_frames_total', help: 'Push frames sent, by kind (delta or resync)', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly slowConsumers = new Counter({ name: 'dmci_slow_consumer_closes_total', help: 'Sockets closed because their send buffer kept growing', registers: [this.registry] });
  readonly calendarWork = new Histogram({
    name: 'dmci_calendar_work_seconds',
    help: 'Calendar tasks run in the worker pool, by task (prepareWrites, expandUnindexed, extendIndex): seconds from queueing to result',
    labelNames: ['task'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly readingPaused = new Counter({ name: 'dmci_reading_paused_total', help: 'Times a socket stopped being read because its unread answers and pushes passed the high-water mark', registers: [this.registry] });

  readonly buildInfo = new Gauge({ name: 'dmci_build_info', help: 'Always 1; the labels say which dmci, protocol and Node.js this node runs', labelNames: ['version', 'protocol_version', 'node_version'] as const, registers: [this.registry] });
  readonly ready = new Gauge({ name: 'dmci_ready', help: '1 when /readyz would answer 200 (database reachable, migrations applied, LISTEN up, not draining), else 0', registers: [this.registry] });
  // The LDAP door (docs/ldap.md). Outcome and result labels are fixed small sets: LDAP result code names.
  readonly ldapBinds = new Counter({ name: 'dmci_ldap_binds_total', help: 'LDAP binds by outcome (success, anonymous, or the LDAP result code name of the refusal)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly ldapSearches = new Counter({ name: 'dmci_ldap_searches_total', help: 'LDAP searches by result (the LDAP result code name)', labelNames: ['result'] as const, registers: [this.registry] });
  readonly ldapEntries = new Counter({ name: 'dmci_ldap_entries_returned_total', help: 'Entries sent in answer to LDAP searches', registers: [this.registry] });
  readonly ldapDuration = new Histogram({
    name: 'dmci_ldap_operation_duration_seconds',
    help: 'LDAP operation latency by operation (bind, search, extended)',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  // Screening (docs/security.md "Screening"): blocks this node started (its login guard, or an admin through it), and the blocks in force on every node.
  readonly screenBlocks = new Counter({ name: 'dmci_screen_blocks_total', help: 'Blocks started on this node, by source (guard: its login guard; admin: an admin through this node)', labelNames: ['source'] as const, registers: [this.registry] });
  readonly screenBlocksActive = new Gauge({ name: 'dmci_screen_blocks_active', help: 'Addresses and ranges blocked now (shared by every node)', registers: [this.registry] });
  readonly ldapConnections = new Gauge({ name: 'dmci_ldap_connections_open', help: 'Open LDAP and LDAPS connections on this node', registers: [this.registry] });
  readonly ldapIndexBytes = new Gauge({ name: 'dmci_ldap_index_bytes', help: "Bytes held by this node's in-memory LDAP GAL index, all domains (bounded by DMCI_LDAP_INDEX_MAX_MB)", registers: [this.registry] });
  // iMIP (docs/operations.md "Mail"): the outbox every node shares, and messages taken in through the LMTP door or `dmci itip-ingest`.
  readonly outboxPending = new Gauge({ name: 'dmci_outbox_pending', help: 'iMIP messages waiting in the outbox (shared by every node), read when /metrics is scraped', registers: [this.registry] });
  readonly outboxDelivered = new Counter({ name: 'dmci_outbox_delivered_total', help: 'iMIP messages this node handed to the SMTP server', registers: [this.registry] });
  readonly outboxFailed = new Counter({ name: 'dmci_outbox_failed_total', help: 'Failed iMIP sends on this node, by outcome (retry: tried again later; dead: given up, the sender told)', labelNames: ['outcome'] as const, registers: [this.registry] });
  readonly imipInbound = new Counter({ name: 'dmci_imip_inbound_total', help: 'Incoming iMIP messages by outcome (applied, or the reason they were refused)', labelNames: ['outcome'] as const, registers: [this.registry] });

  constructor(build: { version?: string } = {}) {
    // Node's process metrics under their standard names (process_cpu_seconds_total, nodejs_eventloop_lag_seconds, ...), as every Node dashboard expects.
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.set({ version: build.version ?? 'unknown', protocol_version: String(PROTOCOL_VERSION), node_version: process.version }, 1);
  }

  /** dmci_screen_blocks_active follows the node's screening state, read when /metrics is scraped. */
  watchScreenBlocks(count: () => number): void {
    const gauge = this.screenBlocksActive;
    (gauge as unknown as { collect: () => void }).collect = () => gauge.set(count());
  }

  /** dmci_outbox_pending follows the outbox table, read when /metrics is scraped. */
  watchOutbox(count: () => Promise<number>): void {
    const gauge = this.outboxPending;
    (gauge as unknown as { collect: () => Promise<void> }).collect = async () => {
      gauge.set(await count());
    };
  }

  /** dmci_ready follows the readiness check, evaluated when /metrics is scraped. */
  watchReadiness(check: () => Promise<{ ready: boolean }>): void {
    const gauge = this.ready;
    // prom-client calls collect() before each scrape; it may be async.
    (gauge as unknown as { collect: () => Promise<void> }).collect = async () => {
      gauge.set((await check()).ready ? 1 : 0);
    };
  }
}
