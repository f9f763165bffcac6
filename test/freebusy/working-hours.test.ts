import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { runDmci } from '../helpers/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId } from '../calendar/helpers.ts';

/**
 * Issue 9 item 3: working hours (own zone, domain defaults) and an
 * out-of-office period per account, set over the protocol and with `dmci`,
 * returned by FreeBusy/query; all-day events placed in the owner's zone.
 */

let server: TestServer;
let bob: DmciClient;
let alice: DmciClient;
let domainAdmin: DmciClient;
let otherAdmin: DmciClient;
const window = { from: '2026-12-01T00:00:00Z', to: '2026-12-04T00:00:00Z', interval: 1440 };

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['bob', 'alice', 'carol']) await server.createAccount(`${name}@example.com`);
  await server.createAccount('boss@example.com', undefined, 'domain_admin');
  await server.createAccount('boss@other.test', undefined, 'domain_admin');
  bob = await server.connect('bob@example.com');
  alice = await server.connect('alice@example.com');
  domainAdmin = await server.connect('boss@example.com');
  otherAdmin = await server.connect('boss@other.test');
});
afterAll(() => server.stop());

describe('working hours and out of office', () => {
  it('an account sets its own; viewers get them with its free/busy; all-day events land in its zone', async () => {
    const set = await bob.setFreeBusySettings({
      workingHours: { days: [5, 1, 2, 3, 4, 4], start: '08:00', end: '16:30', timeZone: 'Europe/Berlin' },
      outOfOffice: { from: '2026-12-03T00:00:00+01:00', until: '2026-12-10T00:00:00+01:00' },
    });
    expect(set.settings).toMatchObject({
      email: 'bob@example.com',
      workingHours: { days: [1, 2, 3, 4, 5], start: '08:00', end: '16:30', timeZone: 'Europe/Berlin' },
      workingHoursAreDefault: false,
      outOfOffice: { from: '2026-12-02T23:00:00.000Z', until: '2026-12-09T23:00:00.000Z' },
    });
    const calendarId = await defaultCalendarId(bob);
    const allDay = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', 'UID:all-day@test', 'DTSTAMP:20261001T000000Z', 'DTSTART;VALUE=DATE:20261202', 'DTEND;VALUE=DATE:20261203', 'SUMMARY:Offsite', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
    await bob.request('CalendarEvent/set', { calendarId, create: { a: { ics: allDay } } });
    const [entry] = (await alice.freeBusy({ principals: ['bob@example.com'], ...window })).principals;
    expect(entry!.workingHours).toEqual({ days: [1, 2, 3, 4, 5], start: '08:00', end: '16:30', timeZone: 'Europe/Berlin' });
    expect(entry!.outOfOffice).toEqual({ from: '2026-12-02T23:00:00.000Z', until: '2026-12-09T23:00:00.000Z' });
    expect(entry!.periods).toEqual([{ start: '2026-12-01T23:00:00.000Z', end: '2026-12-02T23:00:00.000Z', busyType: 'BUSY' }]);
    expect(entry!.slots).toBe('220');
    // An out-of-office period outside the window is not reported.
    const before = await alice.freeBusy({ principals: ['bob@example.com'], from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00Z' });
    expect(before.principals[0]!.outOfOffice).toBeNull();
  });

  it('null returns to the domain default; a domain admin sets the default for its own domain only', async () => {
    await bob.setFreeBusySettings({ workingHours: null, outOfOffice: null });
    const policy = await domainAdmin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', workingHours: { days: [1, 2, 3, 4], start: '07:30', end: '24:00', timeZone: 'America/New_York' } });
    expect(policy.policy).toEqual({
      domain: 'example.com',
      members: 'time',
      otherDomains: 'time',
      anonymous: 'none',
      workingHours: { days: [1, 2, 3, 4], start: '07:30', end: '24:00', timeZone: 'America/New_York' },
    });
    const settings = await bob.request('FreeBusy/getSettings', {});
    expect(settings.settings).toMatchObject({ workingHours: policy.policy.workingHours, workingHoursAreDefault: true, outOfOffice: null });
    await expect(otherAdmin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', members: 'none' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(otherAdmin.request('FreeBusy/getDomainPolicy', { domain: 'nowhere.test' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(alice.request('FreeBusy/getDomainPolicy', { domain: 'example.com' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('admins set the hours of accounts they manage; others may not; calendars stay the owner’s', async () => {
    const set = await domainAdmin.request('FreeBusy/setSettings', { email: 'carol@example.com', workingHours: { days: [1], start: '10:00', end: '12:00', timeZone: 'Asia/Tokyo' } });
    expect(set.settings.workingHours).toEqual({ days: [1], start: '10:00', end: '12:00', timeZone: 'Asia/Tokyo' });
    await expect(alice.request('FreeBusy/setSettings', { email: 'carol@example.com', outOfOffice: null })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    // Another domain's account is as unknown to a domain admin as one that does not exist.
    await expect(otherAdmin.request('FreeBusy/getSettings', { email: 'carol@example.com' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const carolCalendar = set.settings.calendars[0]!.id;
    await expect(domainAdmin.request('FreeBusy/setSettings', { email: 'carol@example.com', calendars: { [carolCalendar]: { visibility: 'none' } } })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('refuses bad hours and periods', async () => {
    const bad = async (args: Parameters<DmciClient['setFreeBusySettings']>[0]) => (await bob.setFreeBusySettings(args).catch((e: { code: string }) => e)) as { code: string };
    expect((await bad({ workingHours: { days: [1], start: '10:00', end: '09:00', timeZone: 'UTC' } })).code).toBe('INVALID_ARGUMENTS');
    expect((await bad({ workingHours: { days: [1], start: '10:00', end: '11:00', timeZone: 'Mars/Olympus' } })).code).toBe('INVALID_ARGUMENTS');
    expect((await bad({ workingHours: { days: [8], start: '10:00', end: '11:00', timeZone: 'UTC' } })).code).toBe('INVALID_ARGUMENTS');
    expect((await bad({ workingHours: { days: [1], start: '24:00', end: '24:00', timeZone: 'UTC' } })).code).toBe('INVALID_ARGUMENTS');
    expect((await bad({ outOfOffice: { from: '2026-12-02T00:00:00Z', until: '2026-12-01T00:00:00Z' } })).code).toBe('INVALID_ARGUMENTS');
  });
});

describe('dmci user hours|oof, dmci domain freebusy', { timeout: 180_000 }, () => {
  let databaseUrl: string;
  beforeAll(async () => {
    databaseUrl = await createTestDatabase();
  });
  afterAll(() => dropTestDatabase(databaseUrl));
  const dmci = (args: string[]) => runDmci(['--json', ...args], { env: { DATABASE_URL: databaseUrl, DMCI_ARGON2_MEMORY_KIB: '1024' } });

  it('sets and shows working hours, out of office and domain defaults', async () => {
    expect((await dmci(['domain', 'add', 'cli.test'])).code).toBe(0);
    expect((await dmci(['user', 'add', 'ann@cli.test', '-n', 'Ann', '-p', 'a long enough password'])).code).toBe(0);
    const domain = await dmci(['domain', 'freebusy', 'cli.test', '--members', 'details', '--zone', 'Europe/Paris']);
    expect(domain.code, domain.stderr).toBe(0);
    expect(JSON.parse(domain.stdout)).toMatchObject({ members: 'details', workingHours: { start: '09:00', end: '17:00', timeZone: 'Europe/Paris' } });
    const hours = await dmci(['user', 'hours', 'ann@cli.test', '--days', '1,3,5', '--start', '06:00']);
    expect(hours.code, hours.stderr).toBe(0);
    expect(JSON.parse(hours.stdout).workingHours).toEqual({ days: [1, 3, 5], start: '06:00', end: '17:00', timeZone: 'Europe/Paris' });
    const oof = await dmci(['user', 'oof', 'ann@cli.test', '--from', '2026-12-24T00:00:00Z', '--until', '2027-01-02T00:00:00Z']);
    expect(JSON.parse(oof.stdout).outOfOffice).toEqual({ from: '2026-12-24T00:00:00.000Z', until: '2027-01-02T00:00:00.000Z' });
    const bad = await dmci(['user', 'hours', 'ann@cli.test', '--days', '0']);
    expect(bad.code).toBe(2);
    const reset = await dmci(['user', 'hours', 'ann@cli.test', '--default']);
    expect(JSON.parse(reset.stdout)).toMatchObject({ workingHoursAreDefault: true, outOfOffice: { from: '2026-12-24T00:00:00.000Z' } });
  });
});
