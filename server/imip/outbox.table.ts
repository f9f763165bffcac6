import type { Generated, Selectable } from 'kysely';

/** Kysely type for imip_outbox (migration 2600): the durable iMIP outbox. */

export type ImipMethod = 'REQUEST' | 'CANCEL' | 'REPLY' | 'COUNTER' | 'DECLINECOUNTER';
export type OutboxState = 'pending' | 'sent' | 'dead';

export interface ImipOutboxTable {
  id: Generated<string>;
  /** Queue order (migration 3501): a row waits for the earlier pending rows to its recipient about its UID. */
  seq: Generated<string>;
  domain_id: string;
  account_id: string | null;
  method: ImipMethod;
  uid: string;
  sequence: number;
  calendar_id: string | null;
  event_id: string | null;
  sender: string;
  sender_name: string | null;
  recipient: string;
  summary: string | null;
  first_start: Date | null;
  time_zone: Generated<string>;
  /** The sending account's language when queued (mail-text.ts; null: English). */
  language: string | null;
  ics: string;
  message_id: string;
  state: Generated<OutboxState>;
  attempts: Generated<number>;
  next_attempt_at: Generated<Date>;
  lease_until: Date | null;
  leased_by: string | null;
  last_error: string | null;
  created_at: Generated<Date>;
  expires_at: Date;
  sent_at: Date | null;
  dead_at: Date | null;
}
export type OutboxRow = Selectable<ImipOutboxTable>;
