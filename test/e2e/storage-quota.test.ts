import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DmciRequestError } from '../../connector-sim/client.ts';
import { defaultCalendarId } from '../calendar/helpers.ts';
import { runDmci } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 item 1: a per-account storage quota (the iCalendar bytes of the
 * live events in the calendars an account owns), checked inside the write
 * transaction so that parallel writes cannot pass it, admin-settable.
 */
const QUOTA = 1_000_000;
let serial = 0;
const eventOf = (kb: number, uid = `quota-${serial++}@quota.example`) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261210T090000Z', 'DTEND:20261210T100000Z', `DESCRIPTION:${'q'.repeat(kb * 1000)}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

describe('storage quota', { timeout: 180_000 }, () => {
  let server: TestServer;
  let owner: DmciClient;
  let admin: DmciClient;
  let calendarId: string;
  const storedBytes = async () => {
    const row = await sql<{ bytes: number }>`select coalesce(sum(octet_length(e.ics)), 0)::bigint as bytes from calendar_events e join calendars c on c.id = e.calendar_id join accounts a on a.id = c.account_id where a.email = 'owner@quota.example' and not e.deleted`.execute(server.app.db);
    return row.rows[0]!.bytes;
  };
  const usage = async () => (await admin.request('Admin/accountStorage', { email: 'owner@quota.example' })).storage;

  beforeAll(async () => {
    server = await startTestServer({ DMCI_STORAGE_QUOTA_BYTES: String(QUOTA) });
    await server.createAccount('owner@quota.example');
    await server.createAccount('admin@root.example', undefined, 'global_admin');
    await server.createAccount('dadmin@elsewhere.example', undefined, 'domain_admin');
    owner = await server.connect('owner@quota.example');
    admin = await server.connect('admin@root.example');
    calendarId = await defaultCalendarId(owner);
  });
  afterAll(() => server.stop());

  it('refuses, per object, the event that would pass the quota, with figures', async () => {
    const result = await owner.request('CalendarEvent/set', { calendarId, create: { a: { ics: eventOf(200) }, b: { ics: eventOf(200) }, c: { ics: eventOf(200) }, d: { ics: eventOf(200) }, e: { ics: eventOf(200) } } });
    expect(Object.keys(result.created).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(result.notCreated.e).toMatchObject({ code: 'LIMIT_EXCEEDED', details: { limit: QUOTA } });
    const storage = await usage();
    expect(storage).toMatchObject({ quotaBytes: QUOTA, quotaIsDefault: true });
    expect(storage.usedBytes).toBe(await storedBytes());
    expect(storage.usedBytes).toBeLessThanOrEqual(QUOTA);

    // Filled to within ~40 KB: an update that grows past it is refused too; one that shrinks is not.
    const fill = await owner.request('CalendarEvent/set', { calendarId, create: { f: { ics: eventOf(120) } } });
    expect(fill.created.f).toBeDefined();
    const id = result.created.a!.id;
    const grow = await owner.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: eventOf(250, result.created.a!.uid) } } });
    expect(grow.notUpdated[id]).toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const shrink = await owner.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: eventOf(10, result.created.a!.uid) } } });
    expect(shrink.updated[id]).toBeDefined();
    expect((await usage()).usedBytes).toBe(await storedBytes());
  });

  it('cannot be passed by parallel writes to several calendars of one account', async () => {
    const second = await owner.request('Calendar/set', { create: { s: { name: 'second' } } });
    const calendars = [calendarId, second.created.s!.id];
    const outcomes = await Promise.all(
      Array.from({ length: 12 }, (_, i) => owner.request('CalendarEvent/set', { calendarId: calendars[i % 2]!, create: { x: { ics: eventOf(60) } } })),
    );
    expect(outcomes.some((o) => o.notCreated.x?.code === 'LIMIT_EXCEEDED')).toBe(true);
    const storage = await usage();
    expect(storage.usedBytes).toBe(await storedBytes());
    expect(storage.usedBytes).toBeLessThanOrEqual(QUOTA);

    // Destroying a calendar gives its events' bytes back.
    await owner.request('Calendar/set', { destroy: [second.created.s!.id] });
    expect((await usage()).usedBytes).toBe(await storedBytes());
  });

  it('is set by admins who manage the account, and by `dmci user quota`', async () => {
    const raised = await admin.request('Admin/accountSetQuota', { email: 'owner@quota.example', quotaBytes: 5_000_000 });
    expect(raised.storage).toMatchObject({ quotaBytes: 5_000_000, quotaIsDefault: false });
    const more = await owner.request('CalendarEvent/set', { calendarId, create: { big: { ics: eventOf(250) } } });
    expect(more.created.big).toBeDefined();

    const outsider = await server.connect('dadmin@elsewhere.example');
    await expect(outsider.request('Admin/accountSetQuota', { email: 'owner@quota.example', quotaBytes: 10 ** 12 })).rejects.toBeInstanceOf(DmciRequestError);

    const env = { env: { DATABASE_URL: server.databaseUrl, DMCI_STORAGE_QUOTA_BYTES: String(QUOTA), DMCI_ARGON2_MEMORY_KIB: '1024' } };
    const set = await runDmci(['--json', 'user', 'quota', 'owner@quota.example', 'default'], env);
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ email: 'owner@quota.example', quotaBytes: QUOTA, quotaIsDefault: true, usedBytes: await storedBytes() });
    const bad = await runDmci(['user', 'quota', 'owner@quota.example', 'lots'], env);
    expect(bad.code).toBe(2);
  });
});
