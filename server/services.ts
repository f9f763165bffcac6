import { AccountService } from './accounts/account.service.ts';
import { PasswordHasher } from './accounts/password-hasher.ts';
import { CalendarService } from './calendar/calendar.service.ts';
import { CalendarEventService } from './calendar/event.service.ts';
import { IcalWorkerPool } from './calendar/ical-work/pool.ts';
import type { ClusterBus } from './cluster/cluster-bus.ts';
import type { Config } from './config/config.ts';
import type { Db } from './db/database.ts';
import { registerAccountEntries } from './directory/account-entries.ts';
import { DirectoryService } from './directory/directory.service.ts';
import { galSnapshotPages } from './directory/gal-snapshot-pages.ts';
import { DomainService } from './domains/domain.service.ts';
import { FreeBusyService } from './freebusy/freebusy.service.ts';
import type { Logger } from './log/logger.ts';
import type { Metrics } from './ops/metrics.ts';
import type { LoginGuard } from './security/login-guard.ts';
import { StorageService } from './quota/storage.service.ts';
import { busPublisher } from './sync/scope-write.ts';
import { settleDirectoryWrite, settlingPublisher } from './cluster/directory-read-lease.ts';
import { AuditService } from './audit/audit.service.ts';
import { ScreenService, type ConfiguredLists } from './security/screen.service.ts';
import { InboxService } from './inbox/inbox.service.ts';
import { ResourceService } from './scheduling/resource.service.ts';
import { imipOutOf } from './imip/imip-runtime.ts';
import { ResourceApprovalService } from './scheduling/approval.service.ts';
import { SeriesSkipAnswers } from './scheduling/series-skip-answers.ts';

/** The services handlers, the LDAP door and the CLI call. */
export interface Services {
  accounts: AccountService;
  domains: DomainService;
  directory: DirectoryService;
  calendars: CalendarService;
  calendarEvents: CalendarEventService;
  /** Worker threads for calendar parsing and expansion; closed on shutdown. */
  icalWork: IcalWorkerPool;
  storage: StorageService;
  /** Reading the audit log (actions record themselves: audit/audit.service.ts). */
  audit: AuditService;
  /** Blocks, unblocks and the trusted and allow/deny lists, shared by every node through PostgreSQL. */
  screen: ScreenService;
  freeBusy: FreeBusyService;
  /** Scheduling inboxes (Inbox/*). */
  inbox: InboxService;
  /** Resource booking policies (Admin/resource*). */
  resources: ResourceService;
  /** Approvers deciding resources' held requests (Resource/decide). */
  approvals: ResourceApprovalService;
  /** Resources answering the occurrences their series could not book (two endless series meeting late); run as a job. */
  seriesSkips: SeriesSkipAnswers;
  nodeId: string;
}

/**
 * Builds every service and wires the hooks between them (an account gets a
 * default calendar and a GAL entry in the transaction that creates it, a
 * domain gets its GAL scope, ...). The server and the `dmci` CLI both build
 * their services here, so an account made by either is complete.
 */
export function createServices(options: { db: Db; bus: Pick<ClusterBus, 'publish'>; config: Config; hashConcurrency?: number; log: Logger; loginGuard?: LoginGuard; metrics?: Metrics }): Services {
  const { db, bus, config } = options;
  const hasher = new PasswordHasher({
    concurrency: options.hashConcurrency ?? config.DMCI_HASH_CONCURRENCY,
    memoryKiB: config.DMCI_ARGON2_MEMORY_KIB,
    maxQueued: config.DMCI_HASH_QUEUE_MAX,
    maxPerKey: config.DMCI_HASH_QUEUE_PER_ADDRESS,
  });
  // The server passes the guard its doors share; the CLI checks no passwords and gets the defaults.
  // Directory and account writes wait out LDAP nodes' read window before they are acknowledged (cluster/directory-read-lease.ts).
  const windowMs = config.DMCI_DIRECTORY_READ_WINDOW_MS;
  const accounts = new AccountService(db, hasher, config.DMCI_RESUME_TOKEN_TTL_HOURS * 3_600_000, options.loginGuard, () => settleDirectoryWrite(db, windowMs));
  const domains = new DomainService(db);
  const calendars = new CalendarService(db, bus);
  // Hooks run in this order and bump in sorted scope order: calendars:<account> before gal:<domain>.
  accounts.onAccountCreated(calendars.createDefaultCalendar);
  registerAccountEntries(accounts, domains);
  const inbox = new InboxService(db, busPublisher(bus));
  accounts.onAccountCreated(inbox.createInbox);
  const directory = new DirectoryService(db, settlingPublisher(busPublisher(bus), db, windowMs), galSnapshotPages(config.DMCI_GAL_SNAPSHOT_BYTES));
  const icalWork = new IcalWorkerPool({
    size: config.DMCI_ICAL_WORKERS,
    maxQueue: config.DMCI_ICAL_QUEUE,
    maxQueuePerOwner: config.DMCI_ICAL_QUEUE_PER_ACCOUNT,
    taskTimeoutMs: config.DMCI_REQUEST_TIMEOUT_MS,
    log: options.log,
    ...(options.metrics ? { observe: (task, seconds) => options.metrics!.calendarWork.observe({ task }, seconds) } : {}),
  });
  // iMIP out: only with an SMTP server configured; otherwise outside attendees stay `external` and nothing is queued.
  const imip = imipOutOf(config);
  const calendarEvents = new CalendarEventService({
    db,
    bus,
    horizonDays: config.DMCI_INSTANCE_HORIZON_DAYS,
    icalWork,
    storageQuotaBytes: config.DMCI_STORAGE_QUOTA_BYTES,
    invitationCopiesPerMinute: config.DMCI_INVITATION_COPIES_PER_MINUTE,
    imip,
  });
  const storage = new StorageService(db, accounts, config.DMCI_STORAGE_QUOTA_BYTES);
  const freeBusy = new FreeBusyService(db, accounts, calendarEvents, busPublisher(bus));
  return { accounts, domains, directory, calendars, calendarEvents, icalWork, storage, audit: new AuditService(db), screen: new ScreenService(db, configuredScreenLists(config)), freeBusy, inbox, resources: new ResourceService(db), approvals: new ResourceApprovalService(db, bus, calendarEvents, config.DMCI_INVITATION_COPIES_PER_MINUTE), seriesSkips: new SeriesSkipAnswers({ db, bus, events: calendarEvents, log: options.log, node: config.nodeId, invitationCopiesPerMinute: config.DMCI_INVITATION_COPIES_PER_MINUTE }), nodeId: config.nodeId };
}

/** The screening lists the configuration sets (they stay there; PostgreSQL holds those added at run time). */
export function configuredScreenLists(config: Config): ConfiguredLists {
  return { trusted: config.DMCI_TRUSTED_HOSTS, ip_allow: config.DMCI_IP_ALLOW, ip_deny: config.DMCI_IP_DENY, host_allow: config.DMCI_HOST_ALLOW, host_deny: config.DMCI_HOST_DENY };
}
