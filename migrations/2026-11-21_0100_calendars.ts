import { sql, type Kysely } from 'kysely';

/**
 * Calendars, their grants, the per-account calendar list, events (one row per
 * calendar and UID, tombstones for deletes) and the occurrence index.
 *
 * Sync scopes: each calendar is `cal:<calendarId>`; each account's calendar
 * list is `calendars:<accountId>`. Rows carry the modseq of the write that
 * last changed them (DESIGN §4).
 *
 * The occurrence index wants one GiST index on (calendar_id, during). That
 * needs btree_gist (a trusted extension since PostgreSQL 13, shipped with the
 * embedded build); where it cannot be created we fall back to a GiST on the
 * range plus the btree on calendar_id.
 */
export async function up(db: Kysely<any>): Promise<void> {
  let btreeGist = true;
  try {
    // A savepoint so a refused CREATE EXTENSION does not poison the migration's transaction.
    await sql`savepoint btree_gist`.execute(db);
    await sql`create extension if not exists btree_gist`.execute(db);
    await sql`release savepoint btree_gist`.execute(db);
  } catch {
    await sql`rollback to savepoint btree_gist`.execute(db);
    btreeGist = false;
  }

  await db.schema
    .createTable('calendars')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('color', 'text')
    .addColumn('description', 'text')
    .addColumn('is_default', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('calendars_account').on('calendars').column('account_id').execute();
  // At most one default calendar per account.
  await sql`create unique index calendars_one_default on calendars (account_id) where is_default`.execute(db);

  // A grantee is an account today; 'group' is reserved for directory groups.
  await db.schema
    .createTable('calendar_grants')
    .addColumn('calendar_id', 'uuid', (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('grantee_kind', 'text', (c) => c.notNull().check(sql`grantee_kind in ('account', 'group')`))
    .addColumn('grantee_id', 'uuid', (c) => c.notNull())
    .addColumn('access_right', 'text', (c) => c.notNull().check(sql`access_right in ('freebusy', 'read', 'write', 'manage')`))
    .addColumn('is_delegate', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('private_access', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('calendar_grants_pk', ['calendar_id', 'grantee_kind', 'grantee_id'])
    .execute();
  await db.schema.createIndex('calendar_grants_grantee').on('calendar_grants').columns(['grantee_kind', 'grantee_id']).execute();

  // What each account's calendar list holds: stamped with the modseq of `calendars:<account_id>`.
  // No foreign key to calendars: a destroyed calendar leaves a tombstone here.
  await db.schema
    .createTable('calendar_list_entries')
    .addColumn('account_id', 'uuid', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('calendar_id', 'uuid', (c) => c.notNull())
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('created_modseq', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('deleted_at', 'timestamptz')
    .addPrimaryKeyConstraint('calendar_list_entries_pk', ['account_id', 'calendar_id'])
    .execute();
  await db.schema.createIndex('calendar_list_entries_changes').on('calendar_list_entries').columns(['account_id', 'modseq', 'calendar_id']).execute();

  await db.schema
    .createTable('calendar_events')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('calendar_id', 'uuid', (c) => c.notNull().references('calendars.id').onDelete('cascade'))
    .addColumn('uid', 'text', (c) => c.notNull())
    .addColumn('ics', 'text')
    .addColumn('summary', 'text')
    .addColumn('first_start', 'timestamptz')
    // null = an unbounded series
    .addColumn('last_end', 'timestamptz')
    .addColumn('recurring', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('classification', 'text', (c) => c.notNull().defaultTo('PUBLIC'))
    .addColumn('version', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    .addColumn('created_modseq', 'bigint', (c) => c.notNull())
    .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('idempotency_key', 'text')
    // event_instances holds the instances starting in [expanded_from, expanded_until); null = unbounded on that side.
    .addColumn('expanded_from', 'timestamptz')
    .addColumn('expanded_until', 'timestamptz')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // One live object per UID; tombstones keep their UID without blocking a re-create.
  await sql`create unique index calendar_events_uid on calendar_events (calendar_id, uid) where not deleted`.execute(db);
  await sql`create unique index calendar_events_idempotency on calendar_events (calendar_id, idempotency_key) where idempotency_key is not null`.execute(db);
  await db.schema.createIndex('calendar_events_changes').on('calendar_events').columns(['calendar_id', 'modseq', 'id']).execute();
  // Initial syncs page live events by id.
  await sql`create index calendar_events_live on calendar_events (calendar_id, id) where not deleted`.execute(db);
  await sql`create index calendar_events_horizon on calendar_events (expanded_until) where expanded_until is not null and not deleted`.execute(db);
  await sql`create index calendar_events_index_start on calendar_events (calendar_id, expanded_from) where expanded_from is not null and not deleted`.execute(db);
  await sql`create index calendar_events_tombstones on calendar_events (deleted_at) where deleted`.execute(db);

  await db.schema
    .createTable('event_instances')
    .addColumn('event_id', 'uuid', (c) => c.notNull().references('calendar_events.id').onDelete('cascade'))
    .addColumn('calendar_id', 'uuid', (c) => c.notNull())
    .addColumn('recurrence_id', 'text', (c) => c.notNull())
    .addColumn('during', sql`tstzrange`, (c) => c.notNull())
    .addColumn('start_local', 'text', (c) => c.notNull())
    .addColumn('end_local', 'text', (c) => c.notNull())
    .addColumn('tzid', 'text')
    .addColumn('all_day', 'boolean', (c) => c.notNull())
    .addColumn('floating', 'boolean', (c) => c.notNull())
    .addColumn('busy_type', 'text', (c) => c.notNull())
    .addColumn('transparent', 'boolean', (c) => c.notNull())
    .addColumn('status', 'text')
    .addColumn('classification', 'text', (c) => c.notNull())
    .addColumn('is_override', 'boolean', (c) => c.notNull())
    .addColumn('summary', 'text')
    .addColumn('location', 'text')
    .addPrimaryKeyConstraint('event_instances_pk', ['event_id', 'recurrence_id'])
    .execute();
  if (btreeGist) {
    await sql`create index event_instances_during on event_instances using gist (calendar_id, during)`.execute(db);
  } else {
    await sql`create index event_instances_during on event_instances using gist (during)`.execute(db);
    await db.schema.createIndex('event_instances_calendar').on('event_instances').column('calendar_id').execute();
  }

  // Data migration: every existing account gets its calendar-list scope and a default calendar.
  await sql`insert into sync_scopes (id, modseq) select 'calendars:' || id, 1 from accounts on conflict (id) do nothing`.execute(db);
  await sql`insert into calendars (account_id, name, is_default) select id, 'Calendar', true from accounts`.execute(db);
  await sql`insert into sync_scopes (id) select 'cal:' || id from calendars on conflict (id) do nothing`.execute(db);
  await sql`
    insert into calendar_list_entries (account_id, calendar_id, modseq, created_modseq)
    select c.account_id, c.id, s.modseq, s.modseq from calendars c join sync_scopes s on s.id = 'calendars:' || c.account_id
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('event_instances').execute();
  await db.schema.dropTable('calendar_events').execute();
  await db.schema.dropTable('calendar_list_entries').execute();
  await db.schema.dropTable('calendar_grants').execute();
  await db.schema.dropTable('calendars').execute();
  await sql`delete from sync_scopes where id like 'cal:%' or id like 'calendars:%'`.execute(db);
}
