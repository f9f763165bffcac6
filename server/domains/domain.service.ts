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
