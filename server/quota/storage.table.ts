/** account_storage: what an account's calendars hold, and its quota (null = the server default). */
export interface AccountStorageTable {
  account_id: string;
  /** Bytes (UTF-8) of the iCalendar text of the live events in the calendars the account owns. */
  used_bytes: number;
  quota_bytes: number | null;
}
