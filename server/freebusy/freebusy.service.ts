import { createHash, randomBytes } from 'node:crypto';
import { ErrorCode, type Encoded, type FreeBusyDomainPolicy, type FreeBusySettings, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import type { AccountService } from '../accounts/account.service.ts';
import { requireAdmin, type Actor } from '../accounts/actor.ts';
import type { CalendarEventService } from '../calendar/event.service.ts';
import type { Db } from '../db/database.ts';
import { DmciError, forbidden, notFound } from '../errors.ts';
import { availabilityDefaultsScope, availabilityScope } from '../sync/scope-id.ts';
import { writeScopes, type ScopePublisher, type ScopeWriter } from '../sync/scope-write.ts';
import { queryFreeBusy, type FreeBusyContext } from './freebusy-query.ts';
import { suggestMeetingTimes } from './suggest.ts';
import {
  availabilityOf,
  calendarSettingsOf,
  domainPolicies,
  domainPolicyByName,
  updateCalendarFreeBusy,
  updateDomainPolicy,
  setPublishToken,
  upsertAvailability,
  type AvailabilityChanges,
  type DomainFreeBusyRow,
} from './freebusy.repository.ts';
import { effectiveHours, parseHours, renderHours } from './working-hours.ts';

/**
 * Free/busy: queries (freebusy-query.ts), each account's working hours,
 * out-of-office period and calendars' free/busy settings, and each domain's
 * defaults. An account sets its own settings; admins may set those of the
 * accounts they manage (AccountService.get checks who), except which
 * calendars count and their visibility, which only the owner decides.
 * Every settings change bumps its sync scope in its transaction (the
 * account's `availability:`, the domain's `availability-defaults:`), so open
 * free/busy watches hear of it as they hear of calendar changes.
 */
export class FreeBusyService {
  clock: () => Date = () => new Date();

  constructor(
    readonly db: Db,
    private readonly accounts: AccountService,
    private readonly calendarEvents: Pick<CalendarEventService, 'expandUnindexed'>,
    private readonly publishScope: ScopePublisher,
  ) {}

  /** Free/busy reads expand what the occurrence index does not hold where calendar reads do: in the worker pool. */
  readonly expandUnindexed: FreeBusyContext['expandUnindexed'] = (owner, events, from, to) => this.calendarEvents.expandUnindexed(owner, events, from, to);

  async query(actor: Actor, args: MethodArgs<'FreeBusy/query'>): Promise<Encoded<MethodResult<'FreeBusy/query'>>> {
    if (actor.kind !== 'account') throw forbidden('free/busy is asked by an account');
    return queryFreeBusy(this, { accountId: actor.accountId, domainId: actor.domainId }, args, this.clock());
  }

  async suggest(actor: Actor, args: MethodArgs<'FreeBusy/suggest'>): Promise<MethodResult<'FreeBusy/suggest'>> {
    if (actor.kind !== 'account') throw forbidden('meeting times are asked by an account');
    return suggestMeetingTimes(this, { accountId: actor.accountId, domainId: actor.domainId }, args);
  }

  /** A new publishing token for the caller (only its hash is kept), or none. */
  async publish(actor: Actor, enabled: boolean): Promise<MethodResult<'FreeBusy/publish'>> {
    if (actor.kind !== 'account') throw forbidden('an account publishes its own free/busy');
    const token = enabled ? randomBytes(32).toString('base64url') : null;
    await setPublishToken(this.db, actor.accountId, actor.domainId, token ? hashToken(token) : null);
    return { token, path: token ? `/freebusy/${encodeURIComponent(actor.email)}.vfb?token=${token}` : null };
  }

  async getSettings(actor: Actor, email: string | undefined): Promise<FreeBusySettings> {
    const target = await this.target(actor, email);
    return this.readSettings(target);
  }

  async setSettings(actor: Actor, args: MethodArgs<'FreeBusy/setSettings'>): Promise<FreeBusySettings> {
    const target = await this.target(actor, args.email);
    const isOwner = actor.kind === 'account' && actor.accountId === target.id;
    if (args.calendars && !isOwner && actor.kind !== 'system') throw forbidden('only the owner decides which calendars count toward free/busy');
    const changes: AvailabilityChanges = {};
    if (args.workingHours === null) Object.assign(changes, { work_days: null, work_start: null, work_end: null, time_zone: null });
    else if (args.workingHours) {
      const hours = parseHours(args.workingHours);
      Object.assign(changes, { work_days: hours.days, work_start: hours.start, work_end: hours.end, time_zone: hours.timeZone });
    }
    if (args.outOfOffice === null) Object.assign(changes, { oof_from: null, oof_until: null });
    else if (args.outOfOffice) {
      const from = new Date(args.outOfOffice.from);
      const until = new Date(args.outOfOffice.until);
      if (!(from < until)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'out of office must end after it starts');
      Object.assign(changes, { oof_from: from, oof_until: until });
    }
    const calendarChanges = Object.entries(args.calendars ?? {});
    if (Object.keys(changes).length === 0 && calendarChanges.length === 0) return this.readSettings(target);
    await writeScopes(this.db, this.publishScope, async (writer) => {
      await bumpCreated(writer, availabilityScope(target.id));
      const trx = writer.trx;
      if (Object.keys(changes).length > 0) await upsertAvailability(trx, target.id, target.domainId, changes);
      for (const [calendarId, change] of calendarChanges) {
        const set = {
          ...(change.countsTowardFreeBusy !== undefined ? { freebusy_counts: change.countsTowardFreeBusy } : {}),
          ...(change.visibility !== undefined ? { freebusy_visibility: change.visibility } : {}),
        };
        if (!(await updateCalendarFreeBusy(trx, target.id, calendarId, set))) throw notFound(`calendar ${calendarId}`);
      }
    });
    return this.readSettings(target);
  }

  async getDomainPolicy(actor: Actor, domain: string): Promise<FreeBusyDomainPolicy> {
    return renderPolicy(await this.manageableDomain(actor, domain));
  }

  async setDomainPolicy(actor: Actor, args: MethodArgs<'FreeBusy/setDomainPolicy'>): Promise<FreeBusyDomainPolicy> {
    const row = await this.manageableDomain(actor, args.domain);
    const hours = args.workingHours ? parseHours(args.workingHours) : undefined;
    const changes = {
      ...(args.members ? { freebusy_internal: args.members } : {}),
      ...(args.otherDomains ? { freebusy_external: args.otherDomains } : {}),
      ...(args.anonymous ? { freebusy_anonymous: args.anonymous } : {}),
      ...(hours ? { work_days: hours.days, work_start: hours.start, work_end: hours.end, work_time_zone: hours.timeZone } : {}),
    };
    if (Object.keys(changes).length > 0) {
      await writeScopes(this.db, this.publishScope, async (writer) => {
        await bumpCreated(writer, availabilityDefaultsScope(row.id));
        await updateDomainPolicy(writer.trx, row.id, changes);
      });
    }
    return renderPolicy((await domainPolicyByName(this.db, args.domain))!);
  }

  /** A domain admin manages its own domain (another, existing or not, is FORBIDDEN alike); a global admin any. */
  private async manageableDomain(actor: Actor, name: string): Promise<DomainFreeBusyRow> {
    requireAdmin(actor);
    const row = await domainPolicyByName(this.db, name);
    if (actor.kind === 'account' && actor.role === 'domain_admin' && row?.id !== actor.domainId) throw forbidden('a domain admin may only manage its own domain');
    if (!row) throw notFound(`domain ${name}`);
    return row;
  }

  /** The caller's own account, or one it manages (admins). */
  private async target(actor: Actor, email: string | undefined): Promise<{ id: string; email: string; domainId: string }> {
    if (email === undefined || (actor.kind === 'account' && email === actor.email)) {
      if (actor.kind !== 'account') throw new DmciError(ErrorCode.INVALID_ARGUMENTS, 'name the account');
      return { id: actor.accountId, email: actor.email, domainId: actor.domainId };
    }
    const account = await this.accounts.get(actor, email);
    const domain = await domainPolicyByName(this.db, account.domain);
    return { id: account.id, email: account.email, domainId: domain!.id };
  }

  private async readSettings(target: { id: string; email: string; domainId: string }): Promise<FreeBusySettings> {
    const domain = (await domainPolicies(this.db, [target.domainId])).get(target.domainId)!;
    const own = (await availabilityOf(this.db, [target.id])).get(target.id);
    const { hours, isDefault } = effectiveHours(domain, own);
    const calendars = await calendarSettingsOf(this.db, target.id);
    return {
      email: target.email,
      workingHours: renderHours(hours),
      workingHoursAreDefault: isDefault,
      outOfOffice: own?.oof_from && own.oof_until ? { from: own.oof_from.toISOString(), until: own.oof_until.toISOString() } : null,
      calendars: calendars.map((c) => ({ id: c.id, name: c.name, isDefault: c.is_default, countsTowardFreeBusy: c.freebusy_counts ?? c.is_default, visibility: c.freebusy_visibility })),
    };
  }
}

/** Settings scopes get their row on first use (most accounts never change a setting). */
async function bumpCreated(writer: ScopeWriter, scope: string): Promise<void> {
  await writer.create(scope);
  await writer.bump(scope);
}

function renderPolicy(row: DomainFreeBusyRow): FreeBusyDomainPolicy {
  return {
    domain: row.name,
    members: row.freebusy_internal,
    otherDomains: row.freebusy_external,
    anonymous: row.freebusy_anonymous,
    workingHours: renderHours({ days: row.work_days, start: row.work_start, end: row.work_end, timeZone: row.work_time_zone }),
  };
}

/** Tokens are kept as their SHA-256 only (as resume tokens are). */
export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
