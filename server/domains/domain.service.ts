import { ErrorCode, type Domain } from '../../protocol/index.ts';
import { requireAdmin, requireDomainNamed, requireGlobalAdmin, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { DmciError, isUniqueViolation, notFound } from '../errors.ts';
import { findDomainByName, insertDomain, listDomainsWithCounts, setDomainSettings } from './domain.repository.ts';
import { recordAudit } from '../audit/audit.service.ts';

/** Hooks other features run inside the transaction that creates a domain (the GAL creates its sync scope, ...). */
export type DomainCreatedHook = (db: Db, domain: { id: string; name: string }) => Promise<void>;

function toDomain(r: Awaited<ReturnType<typeof listDomainsWithCounts>>[number]): Domain {
  return { id: r.id, name: r.name, createdAt: r.created_at.toISOString(), accountCount: Number(r.account_count), crossDomainSharing: r.cross_domain_sharing, calendarAttendant: r.calendar_attendant };
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
        await recordAudit(trx, actor, { action: 'domain.create', target: inserted.name, domainId: inserted.id });
        return inserted;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw new DmciError(ErrorCode.ALREADY_EXISTS, `domain ${name} already exists`);
      throw error;
    }
    return { id: row.id, name: row.name, createdAt: row.created_at.toISOString(), accountCount: 0, crossDomainSharing: row.cross_domain_sharing, calendarAttendant: row.calendar_attendant };
  }

  async list(actor: Actor): Promise<Domain[]> {
    requireAdmin(actor);
    const rows = await listDomainsWithCounts(this.db, actor.kind === 'account' && actor.role === 'domain_admin' ? actor.domainId : undefined);
    return rows.map(toDomain);
  }

  /**
   * Changes a domain's settings (those given; at least one). A domain admin
   * may change only its own domain and gets the same FORBIDDEN for another
   * domain as for one that does not exist.
   * - crossDomainSharing: turning it off refuses new grants across domains;
   *   grants made before stay until revoked.
   * - calendarAttendant: iMIP invitations and cancellations from organizers
   *   outside the server write the members' copies (server/imip/calendar-attendant.ts).
   */
  async update(actor: Actor, name: string, changes: { crossDomainSharing?: boolean | undefined; calendarAttendant?: boolean | undefined }): Promise<Domain> {
    const domain = requireDomainNamed(actor, await findDomainByName(this.db, name), name);
    const given = {
      ...(changes.crossDomainSharing === undefined ? {} : { crossDomainSharing: changes.crossDomainSharing }),
      ...(changes.calendarAttendant === undefined ? {} : { calendarAttendant: changes.calendarAttendant }),
    };
    if (Object.keys(given).length === 0) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'name at least one setting to change (crossDomainSharing, calendarAttendant)');
    const current = { crossDomainSharing: domain.cross_domain_sharing, calendarAttendant: domain.calendar_attendant };
    await this.db.transaction().execute(async (trx) => {
      await setDomainSettings(trx, domain.id, {
        ...(given.crossDomainSharing === undefined ? {} : { cross_domain_sharing: given.crossDomainSharing }),
        ...(given.calendarAttendant === undefined ? {} : { calendar_attendant: given.calendarAttendant }),
      });
      await recordAudit(trx, actor, {
        action: 'domain.update',
        target: domain.name,
        domainId: domain.id,
        before: Object.fromEntries(Object.keys(given).map((k) => [k, current[k as keyof typeof current]])),
        after: given,
      });
    });
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
