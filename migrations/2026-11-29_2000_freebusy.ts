import { sql, type Kysely } from 'kysely';

/**
 * Free/busy (issue 9).
 *
 * - calendars.freebusy_counts: does the calendar count toward its owner's
 *   free/busy? null = the default (the default calendar counts, others do
 *   not), so existing and new calendars need no write.
 * - calendars.freebusy_visibility: the owner's per-calendar override of the
 *   domain's default visibility (null = the domain's).
 * - domains: the default visibility for members (`freebusy_internal`), for
 *   accounts of other domains (`freebusy_external`, at most what members get)
 *   and for anonymous Internet free/busy (`freebusy_anonymous`), and default
 *   working hours (ISO weekdays 1 = Monday, minutes after midnight, an IANA zone).
 * - account_availability: an account's own working hours (null fields take
 *   the domain's) and its out-of-office period. It carries the domain
 *   (DESIGN §8: new tables carry the domain).
 * - Free/busy names principals by email or alias in any domain (an imported
 *   entry's address need not be of its own domain): indexes by address alone.
 */
export async function up(db: Kysely<any>): Promise<void> {
  const visibility = (column: string) => sql.raw(`check (${column} in ('none', 'time', 'details'))`);
  await sql`alter table calendars add column freebusy_counts boolean`.execute(db);
  await sql`alter table calendars add column freebusy_visibility text ${visibility('freebusy_visibility')}`.execute(db);
  await sql`alter table domains add column freebusy_internal text not null default 'time' ${visibility('freebusy_internal')}`.execute(db);
  await sql`alter table domains add column freebusy_external text not null default 'time' ${visibility('freebusy_external')}`.execute(db);
  await sql`alter table domains add column freebusy_anonymous text not null default 'none' ${visibility('freebusy_anonymous')}`.execute(db);
  await sql`alter table domains add column work_days smallint[] not null default '{1,2,3,4,5}'`.execute(db);
  await sql`alter table domains add column work_start smallint not null default 540 check (work_start between 0 and 1439)`.execute(db);
  await sql`alter table domains add column work_end smallint not null default 1020 check (work_end between 1 and 1440 and work_end > work_start)`.execute(db);
  await sql`alter table domains add column work_time_zone text not null default 'UTC'`.execute(db);
  await db.schema
    .createTable('account_availability')
    .addColumn('account_id', 'uuid', (c) => c.primaryKey().references('accounts.id').onDelete('cascade'))
    .addColumn('domain_id', 'uuid', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('work_days', sql`smallint[]`)
    .addColumn('work_start', 'smallint', (c) => c.check(sql`work_start between 0 and 1439`))
    .addColumn('work_end', 'smallint', (c) => c.check(sql`work_end between 1 and 1440`))
    .addColumn('time_zone', 'text')
    .addColumn('oof_from', 'timestamptz')
    .addColumn('oof_until', 'timestamptz')
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('account_availability_work_order', sql`work_start is null or work_end is null or work_end > work_start`)
    .addCheckConstraint('account_availability_oof_order', sql`oof_from is null or oof_until is null or oof_from < oof_until`)
    .execute();
  await sql`create index directory_entries_email on directory_entries (email) where email is not null and not deleted`.execute(db);
  await sql`create index directory_aliases_alias on directory_aliases (alias)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index directory_aliases_alias`.execute(db);
  await sql`drop index directory_entries_email`.execute(db);
  await db.schema.dropTable('account_availability').execute();
  await sql`alter table domains drop constraint domains_work_hours_order`.execute(db);
  for (const column of ['work_time_zone', 'work_end', 'work_start', 'work_days', 'freebusy_anonymous', 'freebusy_external', 'freebusy_internal']) {
    await sql`alter table domains drop column ${sql.raw(column)}`.execute(db);
  }
  await sql`alter table calendars drop column freebusy_visibility`.execute(db);
  await sql`alter table calendars drop column freebusy_counts`.execute(db);
}
