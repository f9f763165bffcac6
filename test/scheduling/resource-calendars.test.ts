import { Migrator, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { migrations } from '../../migrations/index.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import type { Db } from '../../server/db/database.ts';
import { createEmptyTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Every GAL resource has a server-owned calendar, a scope and a booking policy, however it came to be (issue 10, item 0). */

describe('migration 2100: resources that existed before it', () => {
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

  it('gives each one a calendar, its sync scope and the default policy', async () => {
    const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
    expect((await migrator.migrateTo('2026-11-29_1500_grant_rights')).error).toBeUndefined();
    await sql`insert into domains (name) values ('old.test')`.execute(db);
    await sql`insert into directory_entries (domain_id, kind, email, display_name, modseq) select id, 'resource', 'hall@old.test', 'Old Hall', 1 from domains`.execute(db);
    await sql`insert into directory_entries (domain_id, kind, email, display_name, modseq) select id, 'person', 'pat@old.test', 'Pat', 1 from domains`.execute(db);
    expect((await migrator.migrateToLatest()).error).toBeUndefined();

    const calendars = await db.selectFrom('calendars').innerJoin('directory_entries as e', 'e.id', 'calendars.resource_id').select(['calendars.id', 'calendars.name', 'calendars.account_id', 'e.email']).execute();
    expect(calendars).toMatchObject([{ name: 'Old Hall', account_id: null, email: 'hall@old.test' }]);
    expect(await db.selectFrom('sync_scopes').select('id').where('id', '=', `cal:${calendars[0]!.id}`).executeTakeFirst()).toBeDefined();
    const policy = await db.selectFrom('resource_policies').selectAll().executeTakeFirstOrThrow();
    expect(policy).toMatchObject({ mode: 'auto', decline_conflicts: true, allowed_bookers: [], max_duration_minutes: 1440, booking_window_days: 180, allow_recurring: true, conflict_details: false });
  });
});

describe('resources made later', () => {
  let server: TestServer;
  let admin: DmciClient;
  let alice: DmciClient;
  let db: Db;
  beforeAll(async () => {
    server = await startTestServer();
    await server.createAccount('admin@rc.test', undefined, 'domain_admin');
    await server.createAccount('alice@rc.test');
    admin = await server.connect('admin@rc.test');
    alice = await server.connect('alice@rc.test');
    db = openTestDb(server.databaseUrl);
  });
  afterAll(async () => {
    await db.destroy();
    await server.stop();
  });

  const calendarOf = (resourceId: string) => db.selectFrom('calendars').selectAll().where('resource_id', '=', resourceId).executeTakeFirst();

  it('Admin/directoryCreate: a calendar and scope at once; renaming the resource renames it', async () => {
    const { entry } = await admin.request('Admin/directoryCreate', { domain: 'rc.test', kind: 'resource', fields: { displayName: 'Harbour', email: 'harbour@rc.test', resourceType: 'room', capacity: 8 } });
    const calendar = await calendarOf(entry.id);
    expect(calendar).toMatchObject({ name: 'Harbour', account_id: null, is_default: true });
    expect(await db.selectFrom('sync_scopes').select('id').where('id', '=', `cal:${calendar!.id}`).executeTakeFirst()).toBeDefined();
    await admin.request('Admin/directoryUpdate', { id: entry.id, fields: { displayName: 'Harbour View' } });
    expect((await calendarOf(entry.id))!.name).toBe('Harbour View');

    const { resource } = await admin.request('Admin/resourceGet', { email: 'harbour@rc.test' });
    expect(resource).toMatchObject({ id: entry.id, calendarId: calendar!.id, policy: { mode: 'auto', bookingWindowDays: 180, allowedBookers: [] } });
  });

  it('CSV import: a calendar for each imported room', async () => {
    await importDirectory(db, 'email,displayName,type,capacity\nquay@rc.test,Quay,room,4\n', { format: 'csv', domain: 'rc.test', publish: () => undefined });
    const entry = await db.selectFrom('directory_entries').select('id').where('email', '=', 'quay@rc.test').executeTakeFirstOrThrow();
    expect(await calendarOf(entry.id)).toMatchObject({ name: 'Quay', account_id: null });
  });

  it('no account sees a resource calendar through the calendar methods (only the scheduler writes it)', async () => {
    const { resource } = await admin.request('Admin/resourceGet', { email: 'harbour@rc.test' });
    expect((await alice.request('Calendar/get', {})).list.map((c) => c.id)).not.toContain(resource.calendarId);
    await expect(alice.request('CalendarEvent/get', { calendarId: resource.calendarId, ids: [resource.id] })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(admin.request('Calendar/set', { update: { [resource.calendarId]: { name: 'Mine' } } })).resolves.toMatchObject({ notUpdated: { [resource.calendarId]: { code: 'NOT_FOUND' } } });
  });

  it('Admin/resourceSetPolicy changes the policy; bookers by address; users may not', async () => {
    const { resource } = await admin.request('Admin/resourceSetPolicy', { email: 'harbour@rc.test', policy: { mode: 'approval', allowedBookers: ['alice@rc.test'], maxDurationMinutes: 120 } });
    expect(resource.policy).toMatchObject({ mode: 'approval', allowedBookers: ['alice@rc.test'], maxDurationMinutes: 120, declineConflicts: true });
    await expect(admin.request('Admin/resourceSetPolicy', { email: 'harbour@rc.test', policy: { allowedBookers: ['nobody@rc.test'] } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(alice.request('Admin/resourceSetPolicy', { email: 'harbour@rc.test', policy: { mode: 'decline' } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(admin.request('Admin/resourceGet', { email: 'alice@rc.test' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('the exclusion constraint refuses overlapping bookings of one resource; back-to-back and other resources pass', async () => {
    const harbour = (await admin.request('Admin/resourceGet', { email: 'harbour@rc.test' })).resource;
    const quay = await db.selectFrom('directory_entries').select('id').where('email', '=', 'quay@rc.test').executeTakeFirstOrThrow();
    const event = await sql<{ id: string }>`insert into calendar_events (calendar_id, uid, ics, modseq, created_modseq) values (${harbour.calendarId}, 'x@test', 'x', 1, 1) returning id`.execute(db);
    const eventId = event.rows[0]!.id;
    const book = (resourceId: string, rid: string, during: string) => db.insertInto('resource_bookings').values({ resource_id: resourceId, event_id: eventId, recurrence_id: rid, during }).execute();
    await book(harbour.id, 'a', '[2026-12-01T10:00:00Z,2026-12-01T11:00:00Z)');
    await expect(book(harbour.id, 'b', '[2026-12-01T10:30:00Z,2026-12-01T11:30:00Z)')).rejects.toMatchObject({ code: '23P01' });
    await book(harbour.id, 'c', '[2026-12-01T11:00:00Z,2026-12-01T12:00:00Z)');
    await book(quay.id, 'd', '[2026-12-01T10:30:00Z,2026-12-01T11:30:00Z)');
  });
});
