import { ErrorCode, type SetError } from '../../protocol/index.ts';
import type { Db } from '../db/database.ts';
import { addStorageUsed, addStorageUsedOfMany, lockStorage, lockStorageOfMany } from './storage.repository.ts';

/** UTF-8 bytes of an event's stored iCalendar text: what the quota counts. */
export function storedBytes(ics: string | null): number {
  return ics === null ? 0 : Buffer.byteLength(ics, 'utf8');
}

/**
 * An account's storage inside ONE write transaction (issue 7): opened right
 * after the scope lock, it locks the account's storage row until commit, so
 * concurrent writes to the account's calendars take turns and the quota is
 * never overshot (a lowered quota only stops growth). Objects are admitted
 * one by one; what a write frees counts at once for its later objects.
 */
export class StorageLedger {
  private delta = 0;

  private constructor(
    private readonly accountId: string,
    private readonly used: number,
    private readonly quota: number,
  ) {}

  static async open(trx: Db, accountId: string, defaultQuotaBytes: number): Promise<StorageLedger> {
    const row = await lockStorage(trx, accountId);
    return new StorageLedger(accountId, row.used_bytes, row.quota_bytes ?? defaultQuotaBytes);
  }

  /**
   * Ledgers of several accounts for one write (the calendar's owner and the
   * attendees whose copies it writes), their rows locked in one sorted step.
   */
  static async openMany(trx: Db, accountIds: readonly string[], defaultQuotaBytes: number): Promise<Map<string, StorageLedger>> {
    const rows = await lockStorageOfMany(trx, accountIds);
    return new Map(rows.map((r) => [r.account_id, new StorageLedger(r.account_id, r.used_bytes, r.quota_bytes ?? defaultQuotaBytes)]));
  }

  /** Writes the change of usage of every ledger (one statement); call once, before the transaction commits. */
  static async commitAll(trx: Db, ledgers: Iterable<StorageLedger>): Promise<void> {
    await addStorageUsedOfMany(trx, new Map([...ledgers].map((l) => [l.accountId, l.change()])));
  }

  /** Counts a change of `bytes` (negative frees); a LIMIT_EXCEEDED SetError, and nothing counted, when growth would pass the quota. */
  admit(bytes: number): SetError | undefined {
    if (bytes > 0 && this.used + this.delta + bytes > this.quota) {
      return {
        code: ErrorCode.LIMIT_EXCEEDED,
        message: `the calendar owner's storage quota of ${this.quota} bytes would be exceeded`,
        details: { limit: this.quota, used: this.used + this.delta, objectBytes: bytes },
      };
    }
    this.delta += bytes;
    return undefined;
  }

  /**
   * Counts a change the account cannot refuse: a copy of someone else's
   * invitation, or an answer to one (scheduling/scheduler.ts). Returns
   * whether the account is now over its quota.
   */
  charge(bytes: number): boolean {
    this.delta += bytes;
    return this.isOver();
  }

  isOver(): boolean {
    return this.used + this.delta > this.quota;
  }

  /**
   * Writes the change of usage; call once, before the transaction commits.
   * Never frees more than is used: an organizer's scheduled event can grow by
   * server-made edits that nobody was charged for (attendees' one-occurrence
   * answers add overrides to it: scheduling/scheduler.ts), and destroying it
   * frees its whole size.
   */
  async commit(trx: Db): Promise<void> {
    const delta = this.change();
    if (delta !== 0) await addStorageUsed(trx, this.accountId, delta);
  }

  private change(): number {
    return Math.max(this.delta, -this.used);
  }
}
