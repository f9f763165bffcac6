import type { Migration } from 'kysely';
import * as accounts from './2026-11-21_0001_accounts.ts';
import * as syncScopes from './2026-11-21_0002_sync_scopes.ts';
import * as calendars from './2026-11-21_0100_calendars.ts';
import * as directory from './2026-11-21_0200_directory.ts';
import * as directoryFullSyncIndex from './2026-11-21_0201_directory_full_sync_index.ts';
import * as instanceOrder from './2026-11-21_0300_instance_order.ts';
import * as accountStorage from './2026-11-29_1000_account_storage.ts';
import * as galVisibilityModseq from './2026-11-29_1300_gal_visibility_modseq.ts';
import * as domainCrossDomainSharing from './2026-11-29_1301_domain_cross_domain_sharing.ts';
import * as grantRights from './2026-11-29_1500_grant_rights.ts';
import * as freeBusy from './2026-11-29_2000_freebusy.ts';
import * as freeBusyPublishToken from './2026-11-29_2001_freebusy_publish_token.ts';
import * as resourceCalendars from './2026-11-29_2100_resource_calendars.ts';
import * as scheduling from './2026-11-29_2101_scheduling.ts';
import * as delegateInboxCopies from './2026-11-29_2102_delegate_inbox_copies.ts';
import * as counterProposals from './2026-11-29_2103_counter_proposals.ts';
import * as invitationBudget from './2026-11-29_2700_invitation_budget.ts';
import * as resourceApprovers from './2026-11-29_2701_resource_approvers.ts';
import * as calendarAttendant from './2026-11-30_3100_calendar_attendant.ts';
import * as directoryMatchStreams from './2026-11-30_3300_directory_match_streams.ts';
import * as accountLanguage from './2026-11-30_3500_account_language.ts';
import * as outboxOrder from './2026-11-30_3501_outbox_order.ts';
import * as busyIndex from './2026-11-30_3700_busy_index.ts';
import * as auditLog from './2026-11-29_2200_audit_log.ts';
import * as screening from './2026-11-29_2201_screening.ts';
import * as directorySearch from './2026-11-29_2300_directory_search.ts';
import * as consoleSessions from './2026-11-29_2400_console_sessions.ts';
import * as imipOutbox from './2026-11-29_2600_imip_outbox.ts';
import * as farBookings from './2026-11-30_3200_far_bookings.ts';
import * as inboxFreeSlots from './2026-11-30_3600_inbox_free_slots.ts';
import * as resourceSeriesSkips from './2026-11-30_4000_resource_series_skips.ts';
import * as directoryReadLeases from './2026-11-30_4200_directory_read_leases.ts';
import * as busyPacked from './2026-11-30_4300_busy_packed.ts';

/**
 * Every migration, by name. Names sort in the order they run; never rename or
 * edit one that has shipped — add a new one.
 */
export const migrations: Record<string, Migration> = {
  '2026-11-21_0001_accounts': accounts,
  '2026-11-21_0002_sync_scopes': syncScopes,
  '2026-11-21_0100_calendars': calendars,
  '2026-11-21_0200_directory': directory,
  '2026-11-21_0201_directory_full_sync_index': directoryFullSyncIndex,
  '2026-11-21_0300_instance_order': instanceOrder,
  '2026-11-29_1000_account_storage': accountStorage,
  '2026-11-29_1300_gal_visibility_modseq': galVisibilityModseq,
  '2026-11-29_1301_domain_cross_domain_sharing': domainCrossDomainSharing,
  '2026-11-29_1500_grant_rights': grantRights,
  '2026-11-29_2000_freebusy': freeBusy,
  '2026-11-29_2001_freebusy_publish_token': freeBusyPublishToken,
  '2026-11-29_2100_resource_calendars': resourceCalendars,
  '2026-11-29_2101_scheduling': scheduling,
  '2026-11-29_2102_delegate_inbox_copies': delegateInboxCopies,
  '2026-11-29_2103_counter_proposals': counterProposals,
  '2026-11-29_2200_audit_log': auditLog,
  '2026-11-29_2201_screening': screening,
  '2026-11-29_2300_directory_search': directorySearch,
  '2026-11-29_2400_console_sessions': consoleSessions,
  '2026-11-29_2600_imip_outbox': imipOutbox,
  '2026-11-29_2700_invitation_budget': invitationBudget,
  '2026-11-29_2701_resource_approvers': resourceApprovers,
  '2026-11-30_3100_calendar_attendant': calendarAttendant,
  '2026-11-30_3200_far_bookings': farBookings,
  '2026-11-30_3300_directory_match_streams': directoryMatchStreams,
  '2026-11-30_3500_account_language': accountLanguage,
  '2026-11-30_3501_outbox_order': outboxOrder,
  '2026-11-30_3600_inbox_free_slots': inboxFreeSlots,
  '2026-11-30_3700_busy_index': busyIndex,
  '2026-11-30_4000_resource_series_skips': resourceSeriesSkips,
  '2026-11-30_4200_directory_read_leases': directoryReadLeases,
  '2026-11-30_4300_busy_packed': busyPacked,
};
