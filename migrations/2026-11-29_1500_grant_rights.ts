import { sql, type Kysely } from 'kysely';

/**
 * Rights gain `details` between `freebusy` and `read` (DESIGN §6: time,
 * subject and location — Outlook's "limited details"). Group grants need no
 * new index: they are found by (grantee_kind, grantee_id) and per calendar by
 * the primary key, and the member→group walk goes up directory_members by
 * member_id (both indexed since 0100/0200).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table calendar_grants drop constraint calendar_grants_access_right_check`.execute(db);
  await sql`alter table calendar_grants add constraint calendar_grants_access_right_check check (access_right in ('freebusy', 'details', 'read', 'write', 'manage'))`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`delete from calendar_grants where access_right = 'details'`.execute(db);
  await sql`alter table calendar_grants drop constraint calendar_grants_access_right_check`.execute(db);
  await sql`alter table calendar_grants add constraint calendar_grants_access_right_check check (access_right in ('freebusy', 'read', 'write', 'manage'))`.execute(db);
}
