import type { AccountStorage } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { readStorage, setStorageQuota } from './storage.repository.ts';

/**
 * Admin side of the storage quota. Who may read or set an account's quota is
 * who may manage the account (AccountService.get checks it: global admins,
 * and domain admins for their own domain's non-global accounts).
 */
export class StorageService {
  constructor(
    private readonly db: Db,
    private readonly accounts: AccountService,
    private readonly defaultQuotaBytes: number,
  ) {}

  async get(actor: Actor, email: string): Promise<AccountStorage> {
    const account = await this.accounts.get(actor, email);
    return this.read(account.id, account.email);
  }

  async setQuota(actor: Actor, email: string, quotaBytes: number | null): Promise<AccountStorage> {
    const account = await this.accounts.get(actor, email);
    await setStorageQuota(this.db, account.id, quotaBytes);
    return this.read(account.id, account.email);
  }

  private async read(accountId: string, email: string): Promise<AccountStorage> {
    const row = await readStorage(this.db, accountId);
    const own = row?.quota_bytes ?? null;
    return { email, usedBytes: row?.used_bytes ?? 0, quotaBytes: own ?? this.defaultQuotaBytes, quotaIsDefault: own === null };
  }
}
