import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import type { Db } from '../../server/db/database.ts';
import { createEmptyTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';

/** The calendars migration gives accounts that existed before it their list scope and default calendar. */

let url: string;
let db: Db;

beforeAll(async () => {
  url = await createEmptyTestDatabase();
  db = openTestDb(url);
});
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
});

describe('migration 2026-11-21_0100_calendars', () => {
  it('creates a default calendar, its scope and the list entry for every existing account', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('2026-11-21_0002_sync_scopes')).error).toBeUndefined();
    await sql`insert into domains (name) values ('example.com')`.execute(db);
    await sql`insert into accounts (domain_id, email, display_name, password_hash) select id, 'old@example.com', 'Old', 'x' from domains`.execute(db);

    expect((await migrator.migrateToLatest()).error).toBeUndefined();
    const account = await db.selectFrom('accounts').select('id').where('email', '=', 'old@example.com').executeTakeFirstOrThrow();
    const calendar = await db.selectFrom('calendars').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(calendar).toMatchObject({ name: 'Calendar', is_default: true });
    const scopes = await db.selectFrom('sync_scopes').select(['id', 'modseq']).where('id', 'in', [`cal:${calendar.id}`, `calendars:${account.id}`]).orderBy('id').execute();
    expect(scopes.map((s) => s.id)).toEqual([`cal:${calendar.id}`, `calendars:${account.id}`]);
    const entry = await db.selectFrom('calendar_list_entries').selectAll().where('account_id', '=', account.id).executeTakeFirstOrThrow();
    expect(entry).toMatchObject({ calendar_id: calendar.id, modseq: scopes[1]!.modseq, deleted: false });
  });
});
