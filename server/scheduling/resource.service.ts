import { sql } from 'kysely';
import { ErrorCode, type BookingPolicy, type MethodResult } from '../../protocol/index.ts';
import { requireDomainAdminOf, type Actor } from '../accounts/actor.ts';
import type { Db } from '../db/database.ts';
import { DmciError, notFound } from '../errors.ts';
import type { Updateable } from 'kysely';
import type { ResourcePolicyTable } from './scheduling.table.ts';

type ResourceInfo = MethodResult<'Admin/resourceGet'>['resource'];

/**
 * Booking policies of GAL resources (Admin/resource*, `dmci resource`). The
 * calendar and a default policy exist from the moment the resource does
 * (migration 2100's trigger); this service reads and changes the policy.
 * Allowed bookers are stored as directory entry ids and shown as addresses.
 */
export class ResourceService {
  constructor(private readonly db: Db) {}

  async get(actor: Actor, email: string): Promise<ResourceInfo> {
    return this.info(await this.find(actor, email));
  }

  async setPolicy(actor: Actor, email: string, changes: Partial<BookingPolicy>): Promise<ResourceInfo> {
    const resource = await this.find(actor, email);
    const update: Updateable<ResourcePolicyTable> = {};
    if (changes.mode !== undefined) update.mode = changes.mode;
    if (changes.declineConflicts !== undefined) update.decline_conflicts = changes.declineConflicts;
    if (changes.maxDurationMinutes !== undefined) update.max_duration_minutes = changes.maxDurationMinutes;
    if (changes.bookingWindowDays !== undefined) update.booking_window_days = changes.bookingWindowDays;
    if (changes.allowRecurring !== undefined) update.allow_recurring = changes.allowRecurring;
    if (changes.conflictDetails !== undefined) update.conflict_details = changes.conflictDetails;
    if (changes.allowedBookers !== undefined) update.allowed_bookers = await this.bookerIds(resource.domain_id, changes.allowedBookers);
    if (changes.approvers !== undefined) update.approvers = await this.bookerIds(resource.domain_id, changes.approvers, 'approver');
    if (changes.declineConflictingOccurrences !== undefined) update.decline_occurrences = changes.declineConflictingOccurrences;
    if (changes.unboundedSeries !== undefined) update.unbounded_series = changes.unboundedSeries;
    await this.db
      .updateTable('resource_policies')
      .set({ ...update, updated_at: sql<Date>`now()` })
      .where('resource_id', '=', resource.id)
      .execute();
    return this.info(resource);
  }

  private async find(actor: Actor, email: string) {
    const address = email.toLowerCase();
    const entry = await this.db
      .selectFrom('directory_entries')
      .select(['id', 'domain_id', 'email', 'display_name'])
      .where('kind', '=', 'resource')
      .where('deleted', '=', false)
      .where((eb) => eb.or([eb('email', '=', address), eb.exists(eb.selectFrom('directory_aliases').select('alias').whereRef('directory_aliases.entry_id', '=', 'directory_entries.id').where('alias', '=', address))]))
      .executeTakeFirst();
    if (!entry) throw notFound(`resource ${email}`);
    requireDomainAdminOf(actor, entry.domain_id, `resource ${email}`);
    return entry;
  }

  /**
   * People and groups of the resource's domain, by address (approvers: people
   * with an account, who have an inbox); an unknown address refuses the whole change.
   */
  private async bookerIds(domainId: string, addresses: readonly string[], as: 'booker' | 'approver' = 'booker'): Promise<string[]> {
    const wanted = [...new Set(addresses.map((a) => a.toLowerCase()))];
    if (wanted.length === 0) return [];
    const rows = await sql<{ address: string; id: string }>`
      with candidate as (
        select e.id, e.email from directory_entries e
         where e.domain_id = ${domainId} and not e.deleted
           and (e.kind = 'person' or (e.kind = 'group' and ${as} = 'booker')) and (e.account_id is not null or ${as} = 'booker'))
      select c.email as address, c.id from candidate c where c.email = any(${sql.val(wanted)}::text[])
      union
      select da.alias, c.id from directory_aliases da join candidate c on c.id = da.entry_id where da.domain_id = ${domainId} and da.alias = any(${sql.val(wanted)}::text[])`.execute(this.db);
    const found = new Map(rows.rows.map((r) => [r.address, r.id]));
    const missing = wanted.filter((a) => !found.has(a));
    if (missing.length > 0) throw new DmciError(ErrorCode.NOT_FOUND, `no ${as === 'booker' ? 'person or group' : 'person with an account'} ${missing[0]} in the resource's domain`, { details: { missing } });
    return [...new Set(found.values())];
  }

  private async info(entry: { id: string; email: string | null; display_name: string }): Promise<ResourceInfo> {
    const calendar = await this.db.selectFrom('calendars').select('id').where('resource_id', '=', entry.id).executeTakeFirstOrThrow();
    const policy = await this.db.selectFrom('resource_policies').selectAll().where('resource_id', '=', entry.id).executeTakeFirstOrThrow();
    const named = async (ids: readonly string[]) =>
      ids.length ? (await this.db.selectFrom('directory_entries').select(['email', 'display_name']).where('id', 'in', [...ids]).execute()).map((b) => b.email ?? b.display_name).sort() : [];
    return {
      id: entry.id,
      email: entry.email ?? '',
      displayName: entry.display_name,
      calendarId: calendar.id,
      policy: {
        mode: policy.mode,
        declineConflicts: policy.decline_conflicts,
        allowedBookers: await named(policy.allowed_bookers),
        maxDurationMinutes: policy.max_duration_minutes,
        bookingWindowDays: policy.booking_window_days,
        allowRecurring: policy.allow_recurring,
        conflictDetails: policy.conflict_details,
        approvers: await named(policy.approvers),
        declineConflictingOccurrences: policy.decline_occurrences,
        unboundedSeries: policy.unbounded_series,
      },
    };
  }
}
