import type { Generated, Selectable } from 'kysely';

/** An account's own working hours and out-of-office period (migration 2000); null fields take the domain's defaults. */
export interface AccountAvailabilityTable {
  account_id: string;
  domain_id: string;
  /** ISO weekdays, 1 = Monday … 7 = Sunday. */
  work_days: number[] | null;
  /** Minutes after local midnight. */
  work_start: number | null;
  work_end: number | null;
  /** IANA zone of the working hours (and of the account's all-day events in free/busy). */
  time_zone: string | null;
  oof_from: Date | null;
  oof_until: Date | null;
  /** SHA-256 of the secret token of the account's published (Internet) free/busy URL; null = not published (migration 2001). */
  publish_token_hash: Buffer | null;
  updated_at: Generated<Date>;
}
export type AccountAvailabilityRow = Selectable<AccountAvailabilityTable>;
