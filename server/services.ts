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
import { DomainService } from './domains/domain.service.ts';
import type { Logger } from './log/logger.ts';

/** The services handlers, the LDAP door and the CLI call. */
export interface Services {
  accounts: AccountService;
  domains: DomainService;
  directory: DirectoryService;
  calendars: CalendarService;
  calendarEvents: CalendarEventService;
  /** Worker threads for calendar parsing and expansion; closed on shutdown. */
  icalWork: IcalWorkerPool;
  nodeId: string;
}

/**
 * Builds every service and wires the hooks between them (an account gets a
 * default calendar and a GAL entry in the transaction that creates it, a
 * domain gets its GAL scope, ...). The server and the `dmci` CLI both build
 * their services here, so an account made by either is complete.
 */
export function createServices(options: { db: Db; bus: Pick<ClusterBus, 'publish'>; config: Config; hashConcurrency?: number; log: Logger }): Services {
  const { db, bus, config } = options;
  const hasher = new PasswordHasher({ concurrency: options.hashConcurrency ?? config.DMCI_HASH_CONCURRENCY, memoryKiB: config.DMCI_ARGON2_MEMORY_KIB });
  const accounts = new AccountService(db, hasher, config.DMCI_RESUME_TOKEN_TTL_HOURS * 3_600_000);
  const domains = new DomainService(db);
  registerAccountEntries(accounts, domains);
  const directory = new DirectoryService(db, (scope, modseq) => bus.publish({ kind: 'scope', scope, modseq }));
  const calendars = new CalendarService(db, bus);
  accounts.onAccountCreated(calendars.createDefaultCalendar);
  const icalWork = new IcalWorkerPool({
    size: config.DMCI_ICAL_WORKERS,
    maxQueue: config.DMCI_ICAL_QUEUE,
    taskTimeoutMs: config.DMCI_REQUEST_TIMEOUT_MS,
    log: options.log,
  });
  const calendarEvents = new CalendarEventService({ db, bus, horizonDays: config.DMCI_INSTANCE_HORIZON_DAYS, icalWork });
  return { accounts, domains, directory, calendars, calendarEvents, icalWork, nodeId: config.nodeId };
}
