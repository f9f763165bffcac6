import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciRequestError, type DmciClient } from '../../connector-sim/client.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';

/**
 * FreeBusy/query end to end through connector-sim: merged periods with busy
 * type precedence, the EWS slot string, a non-default calendar's flag,
 * instances past the index horizon, groups, rooms, statuses and bad input.
 */

let server: TestServer;
let alice: DmciClient;
let bob: DmciClient;
let admin: DmciClient;
let bobCalendar: string;
const day = '2026-12-01';
const window = { from: `${day}T08:00:00Z`, to: `${day}T18:00:00Z`, interval: 30 };

async function put(client: DmciClient, calendarId: string, events: Record<string, string>): Promise<void> {
  const result = await client.request('CalendarEvent/set', { calendarId, create: Object.fromEntries(Object.entries(events).map(([k, ics]) => [k, { ics }])) });
  expect(result.notCreated).toEqual({});
}

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  for (const name of ['alice', 'bob', 'carol']) await server.createAccount(`${name}@example.com`);
  admin = await server.connect('admin@example.com');
  alice = await server.connect('alice@example.com');
  bob = await server.connect('bob@example.com');
  bobCalendar = await defaultCalendarId(bob);
  await put(bob, bobCalendar, {
    priv: simpleEvent({ start: `${day}T09:00:00Z`, minutes: 30, summary: 'Secret', extra: 'CLASS:PRIVATE' }),
    busy: simpleEvent({ start: `${day}T10:00:00Z`, minutes: 60, summary: 'Standup' }),
    tentative: simpleEvent({ start: `${day}T10:30:00Z`, minutes: 90, extra: 'STATUS:TENTATIVE' }),
    oof: simpleEvent({ start: `${day}T13:00:00Z`, minutes: 60, extra: 'X-MICROSOFT-CDO-BUSYSTATUS:OOF' }),
    inOof: simpleEvent({ start: `${day}T13:30:00Z`, minutes: 15 }),
    transparent: simpleEvent({ start: `${day}T15:00:00Z`, minutes: 60, extra: 'TRANSP:TRANSPARENT' }),
    cancelled: simpleEvent({ start: `${day}T16:00:00Z`, minutes: 60, extra: 'STATUS:CANCELLED' }),
    daily: simpleEvent({ start: '2026-11-30T17:00:00Z', minutes: 30, rrule: 'FREQ=DAILY;COUNT=3' }),
    // An unbounded weekly series: its 2029 instances lie past the index horizon (two years) and are expanded on the fly.
    weekly: simpleEvent({ start: '2026-12-02T12:00:00Z', minutes: 60, rrule: 'FREQ=WEEKLY' }),
  });
});
afterAll(() => server.stop());

describe('FreeBusy/query', () => {
  it('merges busy periods by precedence (OOF > BUSY > TENTATIVE; transparent and cancelled are free) and renders the slot string', async () => {
    const result = await alice.freeBusy({ principals: ['Bob@Example.com'], ...window });
    expect(result).toMatchObject({ from: `${day}T08:00:00.000Z`, to: `${day}T18:00:00.000Z`, interval: 30 });
    const [entry] = result.principals;
    expect(entry).toMatchObject({ principal: 'bob@example.com', kind: 'person', status: 'ok', view: 'time', via: null, details: [] });
    expect(entry!.periods).toEqual([
      { start: `${day}T09:00:00.000Z`, end: `${day}T09:30:00.000Z`, busyType: 'BUSY' },
      { start: `${day}T10:00:00.000Z`, end: `${day}T11:00:00.000Z`, busyType: 'BUSY' },
      { start: `${day}T11:00:00.000Z`, end: `${day}T12:00:00.000Z`, busyType: 'BUSY-TENTATIVE' },
      { start: `${day}T13:00:00.000Z`, end: `${day}T14:00:00.000Z`, busyType: 'BUSY-UNAVAILABLE' },
      { start: `${day}T17:00:00.000Z`, end: `${day}T17:30:00.000Z`, busyType: 'BUSY' },
    ]);
    expect(entry!.slots).toBe('00202211003300000020');
    expect(entry!.workingHours).toEqual({ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timeZone: 'UTC' });
    // A longer interval: each slot takes the highest digit in it.
    const hourly = await alice.freeBusy({ principals: ['bob@example.com'], ...window, interval: 120 });
    expect(hourly.principals[0]!.slots).toBe('22302');
  });

  it('counts a non-default calendar only when its owner flags it', async () => {
    const created = await bob.request('Calendar/set', { create: { c: { name: 'Side' } } });
    const side = created.created.c!.id;
    await put(bob, side, { early: simpleEvent({ start: `${day}T08:00:00Z`, minutes: 30 }) });
    expect((await alice.freeBusy({ principals: ['bob@example.com'], ...window })).principals[0]!.slots!.slice(0, 1)).toBe('0');
    const settings = await bob.setFreeBusySettings({ calendars: { [side]: { countsTowardFreeBusy: true } } });
    expect(settings.settings.calendars.map((c) => [c.name, c.countsTowardFreeBusy])).toEqual([
      ['Calendar', true],
      ['Side', true],
    ]);
    expect((await alice.freeBusy({ principals: ['bob@example.com'], ...window })).principals[0]!.slots!.slice(0, 1)).toBe('2');
    await bob.setFreeBusySettings({ calendars: { [side]: { countsTowardFreeBusy: false } } });
    // Another account's calendar cannot be flagged.
    await expect(alice.setFreeBusySettings({ calendars: { [side]: { countsTowardFreeBusy: true } } })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('reads instances past the index horizon', async () => {
    const result = await alice.freeBusy({ principals: ['bob@example.com'], from: '2029-12-05T00:00:00Z', to: '2029-12-06T00:00:00Z', interval: 60 });
    // 2026-12-02 was a Wednesday; so is 2029-12-05.
    expect(result.principals[0]!.periods).toEqual([{ start: '2029-12-05T12:00:00.000Z', end: '2029-12-05T13:00:00.000Z', busyType: 'BUSY' }]);
  });

  it('reads instances that began before the window: within the look-back, longer than it (timed and all-day), not those already over', async () => {
    const carol = await server.connect('carol@example.com');
    const allDay = [
      'BEGIN:VCALENDAR',
      'VERSION:2.0',
      'PRODID:-//dmci tests//EN',
      'BEGIN:VEVENT',
      'UID:multi-day@test.dmci',
      'DTSTAMP:20261001T000000Z',
      'DTSTART;VALUE=DATE:20261207',
      'DTEND;VALUE=DATE:20261210',
      'SUMMARY:Offsite',
      'STATUS:TENTATIVE',
      'END:VEVENT',
      'END:VCALENDAR',
      '',
    ].join('\r\n');
    await put(carol, await defaultCalendarId(carol), {
      // Three days and an hour: longer than the one-day look-back, started well before it.
      long: simpleEvent({ start: '2026-12-06T10:00:00Z', minutes: 3 * 1440 + 60 }),
      // Overnight, inside the look-back.
      overnight: simpleEvent({ start: '2026-12-08T20:00:00Z', minutes: 14 * 60, extra: 'X-MICROSOFT-CDO-BUSYSTATUS:OOF' }),
      over: simpleEvent({ start: '2026-12-08T20:00:00Z', minutes: 60 }),
      allDay,
    });
    const result = await alice.freeBusy({ principals: ['carol@example.com'], from: '2026-12-09T08:00:00Z', to: '2026-12-09T18:00:00Z', interval: 60 });
    expect(result.principals[0]!.periods).toEqual([
      { start: '2026-12-09T08:00:00.000Z', end: '2026-12-09T10:00:00.000Z', busyType: 'BUSY-UNAVAILABLE' },
      { start: '2026-12-09T10:00:00.000Z', end: '2026-12-09T11:00:00.000Z', busyType: 'BUSY' },
      { start: '2026-12-09T11:00:00.000Z', end: '2026-12-09T18:00:00.000Z', busyType: 'BUSY-TENTATIVE' },
    ]);
    expect(result.principals[0]!.slots).toBe('3321111111');
    await carol.close();
  });

  it('answers a status per principal: unknown, hidden, group expanded, a contact without a calendar, a room without bookings', async () => {
    const { results } = await admin.request('Directory/resolve', { names: ['bob@example.com', 'carol@example.com'] });
    const [bobEntry, carolEntry] = results.map((r) => r.entry!.id);
    await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'group', fields: { displayName: 'Team', email: 'team@example.com' }, memberIds: [bobEntry!, carolEntry!] });
    await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'resource', fields: { displayName: 'Bare room', email: 'bare-room@example.com' } });
    await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'person', fields: { displayName: 'Hidden', email: 'hidden@example.com', hidden: true } });
    // A GAL contact (no account): nothing to read.
    await admin.request('Admin/directoryCreate', { domain: 'example.com', kind: 'person', fields: { displayName: 'Contact', email: 'contact@example.com' } });

    const result = await alice.freeBusy({ principals: ['nobody@example.com', 'not an email', 'team@example.com', 'hidden@example.com', 'contact@example.com', 'bare-room@example.com'], ...window });
    expect(result.principals.map((p) => [p.principal, p.kind, p.status, p.via])).toEqual([
      ['nobody@example.com', null, 'notFound', null],
      ['not an email', null, 'notFound', null],
      ['team@example.com', 'group', 'groupExpanded', null],
      ['hidden@example.com', null, 'notFound', null],
      ['contact@example.com', 'person', 'noData', null],
      // Every room has its own calendar (issue 10): no bookings, all free.
      ['bare-room@example.com', 'resource', 'ok', null],
      ['bob@example.com', 'person', 'ok', 'team@example.com'],
      ['carol@example.com', 'person', 'ok', 'team@example.com'],
    ]);
    expect(result.principals[2]).toMatchObject({ members: ['bob@example.com', 'carol@example.com'], memberCount: 2, slots: null });
    expect(result.principals[4]!.slots).toBe('4'.repeat(20));
    expect(result.principals[5]!.slots).toBe('0'.repeat(20));
    expect(result.principals[0]).toMatchObject({ slots: null, periods: [], workingHours: null });
  });

  it('answers bad input with the documented errors', async () => {
    const fail = async (args: Parameters<DmciClient['freeBusy']>[0]) => {
      const error = await alice.freeBusy(args).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DmciRequestError);
      return (error as DmciRequestError).code;
    };
    const many = Array.from({ length: 101 }, (_, i) => `p${i}@example.com`);
    expect(await fail({ principals: many })).toBe('INVALID_ARGUMENTS');
    expect(await fail({ principals: [] })).toBe('INVALID_ARGUMENTS');
    expect(await fail({ principals: ['bob@example.com'], interval: 4 })).toBe('INVALID_ARGUMENTS');
    expect(await fail({ principals: ['bob@example.com'], interval: 1441 })).toBe('INVALID_ARGUMENTS');
    expect(await fail({ principals: ['bob@example.com'], from: '2026-12-01T00:00:00Z', to: '2027-02-02T00:00:01Z' })).toBe('LIMIT_EXCEEDED');
    expect(await fail({ principals: ['bob@example.com'], from: '2026-12-02T00:00:00Z', to: '2026-12-01T00:00:00Z' })).toBe('INVALID_ARGUMENTS');
    expect(await fail({ principals: many.slice(0, 100), from: '2026-12-01T00:00:00Z', to: '2027-01-01T00:00:00Z', interval: 5 })).toBe('LIMIT_EXCEEDED');
    // The longest window is accepted, and the default window is seven days of 30-minute slots.
    const longest = await alice.freeBusy({ principals: ['bob@example.com'], from: '2026-12-01T00:00:00Z', to: '2027-02-01T00:00:00Z', interval: 1440 });
    expect(longest.principals[0]!.slots).toHaveLength(62);
    const defaults = await alice.freeBusy({ principals: ['bob@example.com'] });
    expect(defaults.principals[0]!.slots).toHaveLength(7 * 48);
    expect(new Date(defaults.to).getTime() - new Date(defaults.from).getTime()).toBe(7 * 86_400_000);
  });
});
