import { ErrorCode, type Domain } from '../../protocol/index.ts';
import { requireAdmin, requireGlobalAdmin, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { DmciError, isUniqueViolation, notFound } from '../errors.ts';
import { findDomainByName, insertDomain, listDomainsWithCounts } from './domain.repository.ts';

/** Hooks other features run inside the transaction that creates a domain (the GAL creates its sync scope, ...). */
export type DomainCreatedHook = (db: Db, domain: { id: string; name: string }) => Promise<void>;

export class DomainService {
  private readonly createdHooks: DomainCreatedHook[] = [];

  constructor(private readonly db: Db) {}

  onDomainCreated(hook: DomainCreatedHook): void {
    this.createdHooks.push(hook);
  }

  /** Creates a domain; with `ifNotExists`, an existing one is returned instead (`created: false`), which makes provisioning idempotent. */
  async createIfMissing(actor: Actor, name: string, options: { ifNotExists: boolean }): Promise<{ domain: Domain; created: boolean }> {
    try {
      return { domain: await this.create(actor, name), created: true };
    } catch (error) {
      if (!(options.ifNotExists && error instanceof DmciError && error.code === ErrorCode.ALREADY_EXISTS)) throw error;
      const [existing] = await listDomainsWithCounts(this.db, (await this.requireByName(name)).id);
      return { domain: { id: existing!.id, name: existing!.name, createdAt: existing!.created_at.toISOString(), accountCount: Number(existing!.account_count) }, created: false };
    }
  }

  async create(actor: Actor, name: string): Promise<Domain> {
    requireGlobalAdmin(actor);
    let row;
    try {
      row = await this.db.transaction().execute(async (trx) => {
        const inserted = await insertDomain(trx, name);
        for (const hook of this.createdHooks) await hook(trx, inserted);
        return inserted;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DmciError(ErrorCode.ALREADY_EXISTS, `domain ${name} already exists`);
      throw error;
    }
    return { id: row.id, name: row.name, createdAt: row.created_at.toISOString(), accountCount: 0 };
  }

  async list(actor: Actor): Promise<Domain[]> {
    requireAdmin(actor);
    const rows = await listDomainsWithCounts(this.db, actor.kind === 'account' && actor.role === 'domain_admin' ? actor.domainId : undefined);
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.created_at.toISOString(), accountCount: Number(r.account_count) }));
  }

  async requireByName(name: string) {
    const domain = await findDomainByName(this.db, name);
    if (!domain) throw notFound(`domain ${name}`);
    return domain;
  }
}
