import { AccountService } from '../accounts/account.service.ts';
import { PasswordHasher } from '../accounts/password-hasher.ts';
import type { Config } from '../config/config.ts';
import { createDatabase, type Db } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { resolveDatabase } from '../db/resolve-database.ts';
import { registerAccountEntries } from '../directory/account-entries.ts';
import { DomainService } from '../domains/domain.service.ts';
import type { Logger } from '../log/logger.ts';

export interface CliServices {
  db: Db;
  accounts: AccountService;
  domains: DomainService;
}

/**
 * Opens the same database the server uses (the embedded one included, while
 * the server runs or not), applies pending migrations, runs `task`, and lets
 * go of everything.
 */
export async function withServices<T>(config: Config, log: Logger, task: (services: CliServices) => Promise<T>): Promise<T> {
  const applicationName = `dmci-cli:${process.pid}`;
  const location = await resolveDatabase(config, log, applicationName);
  const { db } = createDatabase({ url: location.url, poolSize: 2, applicationName });
  try {
    await migrateToLatest(db);
    const hasher = new PasswordHasher({ concurrency: 2, memoryKiB: config.DMCI_ARGON2_MEMORY_KIB });
    const accounts = new AccountService(db, hasher, config.DMCI_RESUME_TOKEN_TTL_HOURS * 3_600_000);
    const domains = new DomainService(db);
    // The same hooks as the server: accounts and domains made here appear in the GAL too.
    registerAccountEntries(accounts, domains);
    return await task({ db, accounts, domains });
  } finally {
    await db.destroy();
    await location.release();
  }
}
