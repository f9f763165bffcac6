import type { Generated, Selectable } from 'kysely';

/** Kysely type for inbox_messages (migration 2101): one account's scheduling inbox, scope `inbox:<accountId>`. */

export type InboxKind = 'request' | 'update' | 'cancel' | 'reply' | 'counter' | 'declinecounter' | 'undeliverable' | 'approval';

export interface InboxMessageTable {
  id: Generated<string>;
  account_id: string;
  kind: InboxKind;
  uid: string;
  calendar_id: string | null;
  event_id: string | null;
  sender: string;
  sequence: number;
  partstat: string | null;
  recurrence_id: string | null;
  summary: string | null;
  first_start: Date | null;
  /** A delegate's copy: the address of the person the message is for. */
  on_behalf_of: Generated<string | null>;
  /** counter: the time the attendee proposes; declinecounter: the time that was declined. */
  proposed_start: Generated<Date | null>;
  proposed_end: Generated<Date | null>;
  comment: Generated<string | null>;
  /** reply from a room declining for a conflict: the next slot of the same length it is free, and the latest one before (migration 3600). */
  free_next_start: Generated<Date | null>;
  free_next_end: Generated<Date | null>;
  free_earlier_start: Generated<Date | null>;
  free_earlier_end: Generated<Date | null>;
  modseq: number;
  created_modseq: number;
  deleted: Generated<boolean>;
  deleted_at: Date | null;
  created_at: Generated<Date>;
}
export type InboxMessageRow = Selectable<InboxMessageTable>;

/** A delegate's choice to get copies of the scheduling messages of a calendar they are delegate for. */
export interface DelegateInboxCopyTable {
  calendar_id: string;
  account_id: string;
}
