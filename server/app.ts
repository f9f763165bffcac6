import { sql } from 'kysely';
import type pg from 'pg';
import { adminHandlers } from './accounts/admin.handlers.ts';
import { coreHandlers } from './accounts/account.handlers.ts';
import { ClusterBus } from './cluster/cluster-bus.ts';
import type { Config } from './config/config.ts';
import { createDatabase, type Db } from './db/database.ts';
import { PREPARED_STATEMENTS } from './db/prepared-statements.ts';
import { migrateToLatest, pendingMigrations } from './db/migrate.ts';
import { refreshStaleSearchTerms } from './directory/search/search-terms.ts';
import { Dispatcher } from './gateway/dispatcher.ts';
import { Gateway } from './gateway/gateway.ts';
import type { HandlerTable } from './gateway/request-context.ts';
import type { Logger } from './log/logger.ts';
import { Metrics } from './ops/metrics.ts';
import { OpsServer, type Readiness } from './ops/ops-server.ts';
import { HostScreen } from './security/host-screen.ts';
import { IpScreen } from './security/ip-screen.ts';
import { LoginGuard } from './security/login-guard.ts';
import { configuredScreenLists, createServices, type Services } from './services.ts';
import { ScreenState } from './security/screen-state.ts';
import { screenPruneJob } from './security/screen.service.ts';
import { SessionRegistry } from './sessions/session-registry.ts';
import { MaintenanceJobs } from './maintenance.ts';
import { galFeed } from './directory/directory.feed.ts';
import { directoryHandlers } from './directory/directory.handlers.ts';
import { galTombstonePruneJob } from './directory/tombstone-prune.job.ts';
import { calendarJobs } from './calendar/calendar-jobs.ts';
import { calendarFeed, calendarListFeed } from './calendar/calendar.feed.ts';
import { calendarHandlers } from './calendar/calendar.handlers.ts';
import { PushHub } from './sync/push-hub.ts';
import { startLdapDoor } from './ldap/ldap-door.ts';
import type { LdapIndex } from './ldap/ldap-index.ts';
import { pushHandlers } from './sync/push.handlers.ts';
import { OpenedResources } from './opened-resources.ts';
import { DMCI_VERSION } from './version.ts';
import { storageHandlers } from './quota/storage.handlers.ts';
import { freeBusyHandlers } from './freebusy/freebusy.handlers.ts';
import { freeBusyWatchHandlers } from './freebusy/freebusy-watch.handlers.ts';
import { FreeBusyWatches } from './freebusy/freebusy-watches.ts';
import { FreeBusyHttpDoor } from './freebusy/freebusy-http.ts';
import { scopeKey, ScopeKind } from './sync/scope-id.ts';
import { auditPruneJob } from './audit/audit.service.ts';
import { inboxFeed } from './inbox/inbox.feed.ts';
import { schedulingHandlers } from './scheduling/scheduling.handlers.ts';
import { ConsoleDoor } from './console/console-door.ts';
import { ConsoleSessions } from './console/console-sessions.ts';
import { consoleSessionPruneJob } from './console/console-jobs.ts';
import { NodeReporter } from './console/node-report.ts';
import { loadTlsMaterial } from './net/tls-files.ts';
import { imipInOf, startLmtpDoor, startOutboxSender } from './imip/imip-runtime.ts';
import { countPending } from './imip/outbox.repository.ts';
import { busPublisher } from './sync/scope-write.ts';

export { DMCI_VERSION } from './version.ts';

export interface AppOptions {
  config: Config;
  log: Logger;
  databaseUrl: string;
}

export interface RunningApp {
  readonly port: number;
  readonly opsPort: number;
  readonly db: Db;
  readonly services: Services;
  readonly gateway: Gateway;
  /** The LDAP door's port, and LDAPS's when a certificate is configured. */
  readonly ldapPort: number;
  readonly ldapsPort: number | undefined;
  /** The LDAP door's in-memory GAL index (tests wait for its builds). */
  readonly ldapIndex: LdapIndex;
  readonly pushHub: PushHub;
  readonly freeBusyWatches: FreeBusyWatches;
  /** The Internet free/busy door's port; undefined when DMCI_FREEBUSY_PORT is not set. */
  readonly freeBusyPort: number | undefined;
  /** The admin console's port (DMCI_CONSOLE_PORT). */
  readonly consolePort: number;
  /** The LMTP door's port (iMIP in); undefined when DMCI_LMTP_PORT is not set. */
  readonly lmtpPort: number | undefined;
  /** This node's live sessions. */
  readonly sessions: SessionRegistry;
  readonly bus: ClusterBus;
  /** Drains and stops everything this app started (not the database server itself). */
  stop(): Promise<void>;
}

/**
 * The composition root: builds every service once and wires the doors to
 * them. Nothing else constructs services, so tests start exactly what
 * `dmci start` runs.
 */
export async function startApp(options: AppOptions): Promise<RunningApp> {
  // A start-up that fails part-way closes what it opened, so the process can exit (a service manager must not see a live process serving nothing).
  const opened = new OpenedResources();
  try {
    return await startAppWith(options, opened);
  } catch (error) {
    await opened.closeAll();
    throw error;
  }
}

async function startAppWith({ config, log, databaseUrl }: AppOptions, opened: OpenedResources): Promise<RunningApp> {
  const applicationName = `dmci:${config.nodeId}`;
  const { db, pool } = createDatabase({ url: databaseUrl, poolSize: config.DMCI_DB_POOL_SIZE, applicationName, prepared: PREPARED_STATEMENTS });
  opened.add(() => db.destroy());
  if (config.DMCI_RUN_MIGRATIONS) await migrateToLatest(db);
  // GAL rows written outside the repository (a migration, a bulk load) or by an older algorithm get their search terms.
  const refreshedTerms = await refreshStaleSearchTerms(db);
  if (refreshedTerms > 0) log.info({ entries: refreshedTerms }, 'computed directory search terms');

  const metrics = new Metrics({ version: DMCI_VERSION });
  const bus = new ClusterBus({ url: databaseUrl, pool: pool as pg.Pool, batchMs: config.DMCI_NOTIFY_BATCH_MS, log, applicationName });
  opened.add(() => bus.stop());
  await bus.start();

  const ipScreen = new IpScreen({ allow: config.DMCI_IP_ALLOW, deny: config.DMCI_IP_DENY, trusted: config.DMCI_TRUSTED_HOSTS });
  const hostScreen = new HostScreen({ allow: config.DMCI_HOST_ALLOW, deny: config.DMCI_HOST_DENY }, { ttlMs: config.DMCI_HOST_SCREEN_TTL_MS });
  // Blocks and lists as every node shares them through PostgreSQL (security/screen-state.ts).
  const screenState = new ScreenState({ db, bus, log, configured: configuredScreenLists(config), ipScreen, hostScreen, pollMs: config.DMCI_SCREEN_POLL_MS });
  opened.add(() => screenState.stop());
  // The one login guard: every door that checks a password (hello, LDAP bind, Account/changePassword) goes through it.
  const loginGuard = new LoginGuard({
    failures: config.DMCI_SCREEN_FAILURES,
    windowMs: config.DMCI_SCREEN_WINDOW_MS,
    blockMs: config.DMCI_SCREEN_BLOCK_MS,
    maxDelayMs: config.DMCI_LOGIN_DELAY_MAX_MS,
    maxWaiting: config.DMCI_LOGIN_QUEUE_PER_ADDRESS,
    isTrusted: (address) => ipScreen.isTrusted(address),
    blocks: screenState,
  });
  const services = createServices({ db, bus, config, log, loginGuard, metrics });
  opened.add(() => services.icalWork.close());
  // The calendar workers load while the rest starts; the node is up only once they have (awaited below).
  const workersLoaded = services.icalWork.start();
  services.screen.onBlock((block) => {
    metrics.screenBlocks.inc({ source: block.source });
    log.warn({ address: block.key, reason: block.reason, until: block.until, source: block.source, by: block.by }, 'address blocked');
  });
  metrics.watchScreenBlocks(() => screenState.size);
  await screenState.follow(services.screen, config.nodeId);
  const { accounts, directory, calendars, calendarEvents } = services;

  const sessions = new SessionRegistry({ db, bus, log, metrics, checkIntervalMs: 5_000 });
  opened.add(() => sessions.stop());
  const pushHub = new PushHub({
    db,
    bus,
    sessions,
    metrics,
    log,
    highWaterBytes: config.DMCI_HIGH_WATER_BYTES,
    pollIntervalMs: config.DMCI_POLL_INTERVAL_MS,
    maxScopesPerSession: 1000,
  });
  opened.add(() => pushHub.stop());
  // Free/busy watches ride on the same hints as calendar push (server/freebusy/freebusy-watches.ts).
  const freeBusyWatches = new FreeBusyWatches({
    ctx: services.freeBusy,
    bus,
    sessions,
    log,
    highWaterBytes: config.DMCI_HIGH_WATER_BYTES,
    clock: () => services.freeBusy.clock(),
  });
  const handlers: HandlerTable = { ...coreHandlers(services), ...adminHandlers(services), ...pushHandlers(pushHub), ...directoryHandlers(directory), ...calendarHandlers(services), ...storageHandlers(services), ...freeBusyHandlers(services), ...freeBusyWatchHandlers(freeBusyWatches), ...schedulingHandlers(services) };
  pushHub.registerFeed(ScopeKind.gal, galFeed(db));
  pushHub.registerFeed(ScopeKind.calendar, calendarFeed(calendarEvents));
  pushHub.registerFeed(ScopeKind.calendarList, calendarListFeed(calendars));
  pushHub.registerFeed(ScopeKind.inbox, inboxFeed(services.inbox));
  // Every grant change commits to the grantee's calendar list: re-check what that account follows.
  pushHub.registerAccessScope(ScopeKind.calendarList, (scopeId) => scopeKey(ScopeKind.calendarList, scopeId));
  const gateway = new Gateway({
    config,
    log,
    metrics,
    accounts,
    sessions,
    dispatcher: new Dispatcher(handlers, metrics, (actor) => accounts.currentActor(actor)),
    loginGuard,
    ipScreen,
    hostScreen,
  });
  opened.add(() => gateway.drain(0));
  const jobs = new MaintenanceJobs(db, log);
  for (const job of calendarJobs({ retentionDays: config.DMCI_TOMBSTONE_RETENTION_DAYS, horizonDays: config.DMCI_INSTANCE_HORIZON_DAYS, limits: calendarEvents.limits, icalWork: services.icalWork, clock: () => calendarEvents.clock() })) jobs.add(job);
  jobs.add(galTombstonePruneJob({ retentionMs: config.DMCI_GAL_TOMBSTONE_DAYS * 86_400_000, intervalMs: 60 * 60_000 }));
  jobs.add(auditPruneJob({ retentionDays: config.DMCI_AUDIT_RETENTION_DAYS }));
  jobs.add(screenPruneJob);
  jobs.add(services.seriesSkips.job(config.DMCI_ROOM_SKIP_POLL_MS));
  jobs.add(consoleSessionPruneJob({ idleMs: config.DMCI_CONSOLE_IDLE_MS, maxMs: config.DMCI_CONSOLE_SESSION_MAX_MS }));
  // iMIP out: every node sends from the shared outbox (server/imip/outbox-sender.ts); off without DMCI_SMTP_URL.
  const outboxSender = config.DMCI_SMTP_URL ? startOutboxSender({ config, db, log, metrics, publish: busPublisher(bus) }) : undefined;
  if (outboxSender) opened.add(() => outboxSender.stop());
  metrics.watchOutbox(() => countPending(db));

  const startedAt = new Date().toISOString();
  // Not ready until start-up has finished (the calendar workers loaded): a load balancer must not send traffic before.
  let startedUp = false;
  const readiness = async (): Promise<Readiness> => {
    const checks: Readiness['checks'] = { started: startedUp ? { ok: true } : { ok: false, detail: 'starting' } };
    try {
      await sql`select 1`.execute(db);
      checks.database = { ok: true };
      const pending = await pendingMigrations(db);
      checks.migrations = pending.length === 0 ? { ok: true } : { ok: false, detail: `pending: ${pending.join(', ')}` };
    } catch (error) {
      checks.database = { ok: false, detail: (error as Error).message };
    }
    checks.listen = bus.listening ? { ok: true } : { ok: false, detail: 'LISTEN connection down (reconnecting)' };
    checks.draining = gateway.isDraining ? { ok: false, detail: 'shutting down' } : { ok: true };
    return { ready: Object.values(checks).every((c) => c.ok), checks };
  };
  metrics.watchReadiness(readiness);
  const ops = new OpsServer({
    metrics,
    log,
    readiness,
    status: () => ({ nodeId: config.nodeId, version: DMCI_VERSION, startedAt, connections: gateway.connectionCount, sessions: sessions.size, draining: gateway.isDraining }),
  });

  const port = await gateway.listen(config.DMCI_PORT, config.DMCI_HOST);
  opened.add(() => ops.close());
  const opsPort = await ops.listen(config.DMCI_OPS_PORT, config.DMCI_OPS_HOST);
  const freeBusyDoor =
    config.DMCI_FREEBUSY_PORT === undefined
      ? undefined
      : new FreeBusyHttpDoor({
          ctx: services.freeBusy,
          accounts,
          ipScreen,
          blockedFor: (address) => loginGuard.blockedFor(address),
          maxConnectionsPerAddress: config.DMCI_FREEBUSY_MAX_CONNECTIONS_PER_IP,
          maxConnections: config.DMCI_FREEBUSY_MAX_CONNECTIONS,
          preAuth: { windowMs: config.DMCI_PREAUTH_WINDOW_MS, maxConnections: config.DMCI_PREAUTH_MAX_CONNECTIONS, maxFrames: config.DMCI_PREAUTH_MAX_FRAMES, maxBytes: config.DMCI_PREAUTH_MAX_BYTES },
          log,
          clock: () => services.freeBusy.clock(),
        });
  if (freeBusyDoor) opened.add(() => freeBusyDoor.close());
  const freeBusyPort = freeBusyDoor ? await freeBusyDoor.listen(config.DMCI_FREEBUSY_PORT!, config.DMCI_FREEBUSY_HOST) : undefined;
  const ldapDoor = await startLdapDoor({ config, log, databaseUrl, accounts, loginGuard, ipScreen, version: DMCI_VERSION, metrics });
  opened.add(() => ldapDoor.close());
  // The admin console (server/console/): its own door; every node reports its sessions and counts for it.
  const reporter = new NodeReporter({ db, bus, log, metrics, sessions, nodeId: config.nodeId, version: DMCI_VERSION, startedAt, connections: () => gateway.connectionCount, draining: () => gateway.isDraining });
  const consoleDoor = new ConsoleDoor({
    ctx: { services, reporter, log },
    sessions: new ConsoleSessions({ db, idleMs: config.DMCI_CONSOLE_IDLE_MS, maxMs: config.DMCI_CONSOLE_SESSION_MAX_MS, secure: Boolean(config.tls) }),
    ipScreen,
    tls: loadTlsMaterial(config),
    log,
  });
  opened.add(() => consoleDoor.close());
  const consolePort = await consoleDoor.listen(config.DMCI_CONSOLE_PORT, config.DMCI_CONSOLE_HOST);
  reporter.start();
  opened.add(() => reporter.stop());
  // iMIP in: the LMTP door the MTA delivers scheduling replies to (off unless DMCI_LMTP_PORT is set).
  const lmtp = config.DMCI_LMTP_PORT === undefined ? undefined : await startLmtpDoor({ config, log, imipIn: imipInOf({ config, db, log, publish: busPublisher(bus), calendarEvents, metrics }) });
  if (lmtp) opened.add(() => lmtp.door.close());
  jobs.start();
  opened.add(() => jobs.stop());
  await workersLoaded;
  startedUp = true;
  log.info({ port, opsPort, consolePort, nodeId: config.nodeId, tls: Boolean(config.tls) }, 'dmci listening');

  let stopping: Promise<void> | undefined;
  return {
    port,
    opsPort,
    db,
    services,
    sessions,
    gateway,
    ldapPort: ldapDoor.port,
    ldapsPort: ldapDoor.tlsPort,
    ldapIndex: ldapDoor.index,
    pushHub,
    freeBusyWatches,
    freeBusyPort,
    consolePort,
    lmtpPort: lmtp?.port,
    bus,
    stop: () =>
      (stopping ??= (async () => {
        log.info({}, 'draining');
        await gateway.drain(config.DMCI_SHUTDOWN_GRACE_MS);
        await opened.closeAll((error) => log.warn({ err: error }, 'closing on shutdown failed'));
        log.info({}, 'stopped');
      })()),
  };
}
