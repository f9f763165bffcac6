import type { AccountService } from './accounts/account.service.ts';
import type { CalendarService } from './calendar/calendar.service.ts';
import type { CalendarEventService } from './calendar/event.service.ts';
import type { DirectoryService } from './directory/directory.service.ts';
import type { DomainService } from './domains/domain.service.ts';

/** The services handlers and the LDAP door call. Built once in app.ts. */
export interface Services {
  accounts: AccountService;
  domains: DomainService;
  directory: DirectoryService;
  calendars: CalendarService;
  calendarEvents: CalendarEventService;
  nodeId: string;
}
