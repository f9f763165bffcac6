import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { FreeBusyVisibility, PrincipalFreeBusy } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId } from '../calendar/helpers.ts';

/**
 * Who sees what of free/busy (DESIGN §6, issue 9 item 2): every domain
 * default (none, time, details) × every per-calendar setting (no override,
 * the owner's override to none, time or details, a `freebusy` or `details`
 * grant) × a PUBLIC and a PRIVATE instance, for a viewer of the owner's
 * domain and one of another domain (whose access the owner's domain caps with
 * `otherDomains`). Each instance carries markers in every property; the test
 * fails when one reaches a viewer who may not see it, or one a viewer may see
 * is missing. The expectations are written out by hand, not computed by the
 * policy under test.
 */

type Seen = 'none' | 'time' | 'details';
type Setting = 'default' | 'cal-none' | 'cal-time' | 'cal-details' | 'grant-freebusy' | 'grant-details';
const SETTINGS: Setting[] = ['default', 'cal-none', 'cal-time', 'cal-details', 'grant-freebusy', 'grant-details'];
const DOMAIN: FreeBusyVisibility[] = ['none', 'time', 'details'];

/** What a viewer of the owner's domain sees of PUBLIC instances: [domain default][setting]. */
const SAME_DOMAIN: Record<FreeBusyVisibility, Record<Setting, Seen>> = {
  none: { default: 'none', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details', 'grant-freebusy': 'time', 'grant-details': 'details' },
  time: { default: 'time', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details', 'grant-freebusy': 'time', 'grant-details': 'details' },
  details: { default: 'details', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details', 'grant-freebusy': 'details', 'grant-details': 'details' },
};
/** A viewer of another domain (no grants: they cross domains only where both allow sharing), [otherDomains][domain default][calendar setting]. */
type CalSetting = Exclude<Setting, 'grant-freebusy' | 'grant-details'>;
const OTHER_DOMAIN: Record<FreeBusyVisibility, Record<FreeBusyVisibility, Record<CalSetting, Seen>>> = {
  none: {
    none: { default: 'none', 'cal-none': 'none', 'cal-time': 'none', 'cal-details': 'none' },
    time: { default: 'none', 'cal-none': 'none', 'cal-time': 'none', 'cal-details': 'none' },
    details: { default: 'none', 'cal-none': 'none', 'cal-time': 'none', 'cal-details': 'none' },
  },
  time: {
    none: { default: 'none', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'time' },
    time: { default: 'time', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'time' },
    details: { default: 'time', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'time' },
  },
  details: {
    none: { default: 'none', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details' },
    time: { default: 'time', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details' },
    details: { default: 'details', 'cal-none': 'none', 'cal-time': 'time', 'cal-details': 'details' },
  },
};

const START = '2026-12-01T10:00:00Z';
function marked(key: string, klass: string, hour: number): string {
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci tests//EN',
    'BEGIN:VEVENT',
    `UID:${key}-UID@test.dmci`,
    'DTSTAMP:20261001T000000Z',
    `DTSTART:20261201T${String(hour).padStart(2, '0')}0000Z`,
    `DTEND:20261201T${String(hour + 1).padStart(2, '0')}0000Z`,
    `CLASS:${klass}`,
    `SUMMARY:${key}-SUM`,
    `LOCATION:${key}-LOC`,
    `DESCRIPTION:${key}-DESC`,
    `ORGANIZER;CN=${key}-ORGCN:mailto:${key}-ORG@example.com`,
    `ATTENDEE;CN=${key}-CN:mailto:${key}-ATT@example.com`,
    `X-TRACKING:${key}-XPROP`,
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
const NEVER = ['DESC', 'ORGCN', 'ORG@', 'CN', 'ATT', 'XPROP', 'UID'];

let server: TestServer;
let admin: DmciClient;
let owner: DmciClient;
let same: DmciClient;
let other: DmciClient;
let delegate: DmciClient;
let calendarId: string;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('admin@a.test', undefined, 'global_admin');
  for (const email of ['bob@a.test', 'alice@a.test', 'dave@a.test', 'xavier@b.test']) await server.createAccount(email);
  admin = await server.connect('admin@a.test');
  owner = await server.connect('bob@a.test');
  same = await server.connect('alice@a.test');
  other = await server.connect('xavier@b.test');
  delegate = await server.connect('dave@a.test');
  calendarId = await defaultCalendarId(owner);
  const created = await owner.request('CalendarEvent/set', { calendarId, create: { pub: { ics: marked('PUB', 'PUBLIC', 10) }, priv: { ics: marked('PRIV', 'PRIVATE', 12) } } });
  expect(created.notCreated).toEqual({});
});
afterAll(() => server.stop());

async function configure(domain: FreeBusyVisibility, otherDomains: FreeBusyVisibility, setting: Setting): Promise<void> {
  await admin.request('FreeBusy/setDomainPolicy', { domain: 'a.test', members: domain, otherDomains });
  const visibility = setting.startsWith('cal-') ? (setting.slice(4) as FreeBusyVisibility) : null;
  await owner.setFreeBusySettings({ calendars: { [calendarId]: { visibility } } });
  const right = setting === 'grant-freebusy' ? 'freebusy' : setting === 'grant-details' ? 'details' : null;
  await owner.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'alice@a.test': right } } } });
}

async function look(viewer: DmciClient): Promise<PrincipalFreeBusy> {
  const result = await viewer.freeBusy({ principals: ['bob@a.test'], from: START, to: '2026-12-01T14:00:00Z', interval: 60 });
  return result.principals[0]!;
}

/** Checks one answer against what the viewer should see of the PUBLIC instance (PRIVATE: time at most, unless `privateToo`). */
function expectSeen(entry: PrincipalFreeBusy, seen: Seen, missing: 'noRight' | 'notFound', privateToo = false): void {
  const text = JSON.stringify(entry);
  for (const marker of NEVER) expect(text, `${marker} leaked`).not.toContain(marker);
  if (seen === 'none') {
    expect(entry).toMatchObject({ status: missing, view: null, periods: [], details: [], slots: null, workingHours: null });
    return;
  }
  expect(entry.status).toBe('ok');
  expect(entry.slots).toBe('2020');
  expect(entry.periods).toEqual([
    { start: '2026-12-01T10:00:00.000Z', end: '2026-12-01T11:00:00.000Z', busyType: 'BUSY' },
    { start: '2026-12-01T12:00:00.000Z', end: '2026-12-01T13:00:00.000Z', busyType: 'BUSY' },
  ]);
  expect(text.includes('PUB-SUM') && text.includes('PUB-LOC')).toBe(seen === 'details');
  expect(text.includes('PRIV-SUM') || text.includes('PRIV-LOC')).toBe(privateToo);
  expect(entry.view).toBe(seen);
}

describe('free/busy visibility matrix', () => {
  for (const domain of DOMAIN) {
    for (const setting of SETTINGS) {
      it(`same domain: domain ${domain} × ${setting} → ${SAME_DOMAIN[domain][setting]}`, async () => {
        await configure(domain, 'time', setting);
        expectSeen(await look(same), SAME_DOMAIN[domain][setting], 'noRight');
      });
    }
  }
  for (const otherDomains of DOMAIN) {
    for (const domain of DOMAIN) {
      for (const setting of ['default', 'cal-none', 'cal-time', 'cal-details'] as const) {
        it(`other domain (otherDomains ${otherDomains}): domain ${domain} × ${setting} → ${OTHER_DOMAIN[otherDomains][domain][setting]}`, async () => {
          await configure(domain, otherDomains, setting);
          expectSeen(await look(other), OTHER_DOMAIN[otherDomains][domain][setting], 'notFound');
        });
      }
    }
  }

  it('the owner and a delegate with private access see subjects of private instances too, whatever the settings', async () => {
    await configure('none', 'none', 'cal-none');
    await owner.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'dave@a.test': { right: 'write', delegate: true, privateAccess: true } } } } });
    const own = await look(owner);
    expectSeen(own, 'details', 'noRight', true);
    expect(own.details.map((d) => d.summary)).toEqual(['PUB-SUM', 'PRIV-SUM']);
    expectSeen(await look(delegate), 'details', 'noRight', true);
    // A plain reader sees private instances as time only.
    await owner.request('Calendar/set', { update: { [calendarId]: { shareWith: { 'dave@a.test': 'read' } } } });
    const reader = await look(delegate);
    expectSeen(reader, 'details', 'noRight');
    expect(reader.details.map((d) => d.summary)).toEqual(['PUB-SUM']);
  });
});
