import { sql, type Kysely } from 'kysely';

/**
 * Every GAL resource (directory kind 'resource': rooms, equipment) gets a
 * calendar the server owns, a booking policy and a table of its bookings
 * that PostgreSQL itself keeps free of overlaps (DESIGN §6a).
 *
 * - calendars.account_id becomes nullable; a resource's calendar has
 *   resource_id instead (exactly one of the two is set). No account owns it,
 *   so no rights path (rights.repository.ts joins accounts) ever shows it;
 *   only the scheduler writes it (server/scheduling/).
 * - A trigger on directory_entries creates the calendar, its sync scope and
 *   a default policy when a resource appears — by import, Admin/directoryCreate
 *   or any later path — and keeps the calendar's name the resource's display
 *   name. Existing resources are filled in below.
 * - resource_bookings: one row per booked (accepted or tentative) instance;
 *   `exclude using gist (resource_id with =, during with &&)` makes two
 *   overlapping bookings of one resource impossible whatever the application
 *   does. '[start,end)' ranges: back-to-back meetings do not overlap. It needs
 *   btree_gist (for uuid equality in a GiST index): this migration fails
 *   rather than run without the guarantee.
 *
 * Policy defaults (Exchange's, docs/protocol.md §Rooms): auto-accept when
 * free, conflicts declined, bookers: everyone of the resource's domain, at
 * most 1440 minutes, at most 180 days ahead, recurring meetings allowed (a
 * series with any conflicting occurrence is declined), conflict details
 * (organizer, subject) not shown.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create extension if not exists btree_gist`.execute(db);

  await sql`alter table calendars alter column account_id drop not null`.execute(db);
  await sql`alter table calendars add column resource_id uuid references directory_entries(id) on delete cascade`.execute(db);
  await sql`alter table calendars add constraint calendars_one_owner check ((account_id is null) <> (resource_id is null))`.execute(db);
  await sql`create unique index calendars_resource on calendars (resource_id) where resource_id is not null`.execute(db);

  await db.schema
    .createTable('resource_policies')
    .addColumn('resource_id', 'uuid', (c) => c.primaryKey().references('directory_entries.id').onDelete('cascade'))
    .addColumn('domain_id', 'uuid', (c) => c.notNull())
    .addColumn('mode', 'text', (c) => c.notNull().defaultTo('auto').check(sql`mode in ('auto', 'approval', 'decline')`))
    .addColumn('decline_conflicts', 'boolean', (c) => c.notNull().defaultTo(true))
    // Directory entry ids (people or groups, nested groups included); empty = everyone of the resource's domain.
    .addColumn('allowed_bookers', sql`uuid[]`, (c) => c.notNull().defaultTo(sql`'{}'::uuid[]`))
    .addColumn('max_duration_minutes', 'integer', (c) => c.notNull().defaultTo(1440).check(sql`max_duration_minutes between 1 and 100000`))
    .addColumn('booking_window_days', 'integer', (c) => c.notNull().defaultTo(180).check(sql`booking_window_days between 1 and 730`))
    .addColumn('allow_recurring', 'boolean', (c) => c.notNull().defaultTo(true))
    .addColumn('conflict_details', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('resource_bookings')
    .addColumn('resource_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('calendar_events.id').onDelete('cascade'))
    .addColumn('recurrence_id', 'text', (c) => c.notNull())
    .addColumn('during', sql`tstzrange`, (c) => c.notNull())
    .addPrimaryKeyConstraint('resource_bookings_pk', ['event_id', 'recurrence_id'])
    .execute();
  await sql`alter table resource_bookings add constraint resource_bookings_no_overlap exclude using gist (resource_id with =, during with &&)`.execute(db);

  await sql`
    create function dmci_resource_calendar() returns trigger language plpgsql as $$
    declare
      created uuid;
    begin
      insert into calendars (resource_id, name, is_default) values (new.id, new.display_name, true)
        on conflict (resource_id) where resource_id is not null do update set name = excluded.name, updated_at = now()
        returning id into created;
      insert into sync_scopes (id) values ('cal:' || created) on conflict (id) do nothing;
      insert into resource_policies (resource_id, domain_id) values (new.id, new.domain_id) on conflict (resource_id) do nothing;
      return null;
    end $$`.execute(db);
  await sql`
    create trigger directory_entries_resource_calendar
      after insert or update of kind, display_name on directory_entries
      for each row when (new.kind = 'resource') execute function dmci_resource_calendar()`.execute(db);
  // A resource's calendar goes with its entry (the GAL prune deletes tombstoned entries): its scope row too.
  await sql`
    create function dmci_calendar_scope_gone() returns trigger language plpgsql as $$
    begin
      delete from sync_scopes where id = 'cal:' || old.id;
      return null;
    end $$`.execute(db);
  await sql`create trigger calendars_resource_scope_gone after delete on calendars for each row when (old.resource_id is not null) execute function dmci_calendar_scope_gone()`.execute(db);

  // Existing resources: the trigger's work, once.
  await sql`insert into calendars (resource_id, name, is_default) select id, display_name, true from directory_entries where kind = 'resource'`.execute(db);
  await sql`insert into sync_scopes (id) select 'cal:' || id from calendars where resource_id is not null on conflict (id) do nothing`.execute(db);
  await sql`insert into resource_policies (resource_id, domain_id) select id, domain_id from directory_entries where kind = 'resource'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger calendars_resource_scope_gone on calendars`.execute(db);
  await sql`drop function dmci_calendar_scope_gone()`.execute(db);
  await sql`drop trigger directory_entries_resource_calendar on directory_entries`.execute(db);
  await sql`drop function dmci_resource_calendar()`.execute(db);
  await db.schema.dropTable('resource_bookings').execute();
  await db.schema.dropTable('resource_policies').execute();
  await sql`delete from sync_scopes where id in (select 'cal:' || id from calendars where resource_id is not null)`.execute(db);
  await sql`delete from calendars where resource_id is not null`.execute(db);
  await sql`drop index calendars_resource`.execute(db);
  await sql`alter table calendars drop constraint calendars_one_owner`.execute(db);
  await sql`alter table calendars drop column resource_id`.execute(db);
  await sql`alter table calendars alter column account_id set not null`.execute(db);
}
