import type { AccountTable, ResumeTokenTable } from '../accounts/account.table.ts';
import type { CalendarGrantTable, CalendarListEntryTable, CalendarTable } from '../calendar/calendar.table.ts';
import type { CalendarEventTable, EventInstanceTable } from '../calendar/event.table.ts';
import type { DirectoryAliasTable, DirectoryAnrKeyTable, DirectoryEntryTable, DirectoryMatchValueTable, DirectoryMemberTable } from '../directory/directory.table.ts';
import type { DomainTable } from '../domains/domain.table.ts';
import type { AccountAvailabilityTable } from '../freebusy/freebusy.table.ts';
import type { AccountStorageTable } from '../quota/storage.table.ts';
import type { SyncScopeTable } from '../sync/sync-scope.table.ts';
import type { AuditLogTable } from '../audit/audit.table.ts';
import type { ScreenBlockTable, ScreenRuleTable } from '../security/screen.table.ts';
import type { ClusterNodeTable, ConsoleSessionTable } from '../console/console.table.ts';
import type { InvitationBudgetTable, ResourceBookingTable, ResourcePolicyTable, ResourceSeriesBookingTable, ResourceSeriesSkipTable, ScheduledCopyTable } from '../scheduling/scheduling.table.ts';
import type { DelegateInboxCopyTable, InboxMessageTable } from '../inbox/inbox.table.ts';
import type { ImipOutboxTable } from '../imip/outbox.table.ts';

/** Every table kysely knows, composed from the feature modules' *.table.ts files. */
export interface Database {
  domains: DomainTable;
  accounts: AccountTable;
  resume_tokens: ResumeTokenTable;
  sync_scopes: SyncScopeTable;
  calendars: CalendarTable;
  calendar_grants: CalendarGrantTable;
  calendar_list_entries: CalendarListEntryTable;
  calendar_events: CalendarEventTable;
  event_instances: EventInstanceTable;
  directory_entries: DirectoryEntryTable;
  directory_aliases: DirectoryAliasTable;
  directory_members: DirectoryMemberTable;
  directory_match_values: DirectoryMatchValueTable;
  directory_anr_keys: DirectoryAnrKeyTable;
  account_storage: AccountStorageTable;
  audit_log: AuditLogTable;
  screen_blocks: ScreenBlockTable;
  screen_rules: ScreenRuleTable;
  console_sessions: ConsoleSessionTable;
  cluster_nodes: ClusterNodeTable;
  account_availability: AccountAvailabilityTable;
  resource_policies: ResourcePolicyTable;
  resource_bookings: ResourceBookingTable;
  resource_series_bookings: ResourceSeriesBookingTable;
  resource_series_skips: ResourceSeriesSkipTable;
  scheduled_copies: ScheduledCopyTable;
  invitation_budgets: InvitationBudgetTable;
  inbox_messages: InboxMessageTable;
  delegate_inbox_copies: DelegateInboxCopyTable;
  imip_outbox: ImipOutboxTable;
}
