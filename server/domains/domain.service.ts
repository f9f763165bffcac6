import { ErrorCode, type Domain } from '../../protocol/index.ts';
import { requireAdmin, requireGlobalAdmin, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { DmciError, forbidden, isUniqueViolation, notFound } from '../errors.ts';
import { findDomainByName, insertDomain, listDomainsWithCounts, setCrossDomainSharing } from './domain.repository.ts';

/** Hooks other features run inside the transaction that creates a domain (the GAL creates its sync scope, ...). */
export type DomainCreatedHook = (db: Db, domain: { id: string; name: string }) => Promise<void>;

function toDomain(r: Awaited<ReturnType<typeof listDomainsWithCounts>>[number]): Domain {
  return { id: r.id, name: r.name, createdAt: r.created_at.toISOString(), accountCount: Number(r.account_count), crossDomainSharing: r.cross_domain_sharing };
}

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
      return { domain: await this.read((await this.requireByName(name)).id), created: false };
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
    return { id: row.id, name: row.name, createdAt: row.created_at.toISOString(), accountCount: 0, crossDomainSharing: row.cross_domain_sharing };
  }

  async list(actor: Actor): Promise<Domain[]> {
    requireAdmin(actor);
    const rows = await listDomainsWithCounts(this.db, actor.kind === 'account' && actor.role === 'domain_admin' ? actor.domainId : undefined);
    return rows.map(toDomain);
  }

  /**
   * Turns cross-domain calendar sharing on or off for a domain. A domain admin
   * may change only its own domain and gets the same FORBIDDEN for another
   * domain as for one that does not exist. Turning it off refuses new grants
   * across domains; grants made before stay until revoked.
   */
  async update(actor: Actor, name: string, changes: { crossDomainSharing: boolean }): Promise<Domain> {
    requireAdmin(actor);
    const domain = await findDomainByName(this.db, name);
    if (actor.kind === 'account' && actor.role === 'domain_admin' && domain?.id !== actor.domainId) throw forbidden('a domain admin may only manage its own domain');
    if (!domain) throw notFound(`domain ${name}`);
    await setCrossDomainSharing(this.db, domain.id, changes.crossDomainSharing);
    return this.read(domain.id);
  }

  private async read(id: string): Promise<Domain> {
    const [row] = await listDomainsWithCounts(this.db, id);
    return toDomain(row!);
  }

  async requireByName(name: string) {
    const domain = await findDomainByName(this.db, name);
    if (!domain) throw notFound(`domain ${name}`);
    return domain;
  }
}
