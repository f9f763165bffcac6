import ICAL from 'ical.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from '../calendar/helpers.ts';

/**
 * The Internet free/busy door (issue 9 item 6): `GET /freebusy/<email>.vfb`
 * answers an RFC 5545 VFREEBUSY, checked here by parsing it with ical.js.
 * Anonymous only where the domain allows it; else HTTP Basic (through the
 * one login guard) or the owner's secret publishing token.
 */

let server: TestServer;
let base: string;
let admin: DmciClient;
let bob: DmciClient;

const basic = (login: string, password = DEFAULT_PASSWORD) => ({ authorization: `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}` });
const get = (path: string, headers: Record<string, string> = {}) => fetch(`${base}${path}`, { headers });
const window = 'start=2026-12-01T00:00:00Z&end=2026-12-02T00:00:00Z';

/** The FREEBUSY periods of a VFREEBUSY, parsed by ical.js: [start, end, FBTYPE]. */
function periods(text: string): string[][] {
  const vcalendar = new ICAL.Component(ICAL.parse(text));
  const vfreebusy = vcalendar.getFirstSubcomponent('vfreebusy')!;
  expect(vcalendar.getFirstPropertyValue('method')).toBe('PUBLISH');
  expect(vfreebusy.getFirstPropertyValue('organizer')).toBe('mailto:bob@example.com');
  expect(vfreebusy.getFirstPropertyValue('uid')).toBeTruthy();
  return vfreebusy.getAllProperties('freebusy').map((p) => {
    const period = p.getFirstValue() as ICAL.Period;
    return [period.start.toJSDate().toISOString(), period.getEnd().toJSDate().toISOString(), String(p.getParameter('fbtype'))];
  });
}

beforeAll(async () => {
  server = await startTestServer({ DMCI_FREEBUSY_PORT: '0', DMCI_FREEBUSY_HOST: '127.0.0.1' });
  base = `http://127.0.0.1:${server.app.freeBusyPort}`;
  await server.createAccount('admin@example.com', undefined, 'global_admin');
  for (const name of ['alice', 'bob']) await server.createAccount(`${name}@example.com`);
  admin = await server.connect('admin@example.com');
  bob = await server.connect('bob@example.com');
  const calendarId = await defaultCalendarId(bob);
  await bob.request('CalendarEvent/set', {
    calendarId,
    create: {
      a: { ics: simpleEvent({ start: '2026-12-01T09:00:00Z', minutes: 60, summary: 'Secret plan', extra: 'CLASS:PRIVATE' }) },
      b: { ics: simpleEvent({ start: '2026-12-01T09:30:00Z', minutes: 90, extra: 'X-MICROSOFT-CDO-BUSYSTATUS:OOF' }) },
      c: { ics: simpleEvent({ start: '2026-12-01T14:00:00Z', minutes: 30, extra: 'STATUS:TENTATIVE' }) },
    },
  });
});
afterAll(() => server.stop());

describe('Internet free/busy', () => {
  it('answers an account (HTTP Basic) with a VFREEBUSY ical.js parses, with no subjects', async () => {
    const response = await get(`/freebusy/bob@example.com.vfb?${window}`, basic('alice@example.com'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/calendar; charset=utf-8');
    const body = await response.text();
    expect(body).not.toContain('Secret');
    expect(periods(body)).toEqual([
      ['2026-12-01T09:00:00.000Z', '2026-12-01T09:30:00.000Z', 'BUSY'],
      ['2026-12-01T09:30:00.000Z', '2026-12-01T11:00:00.000Z', 'BUSY-UNAVAILABLE'],
      ['2026-12-01T14:00:00.000Z', '2026-12-01T14:30:00.000Z', 'BUSY-TENTATIVE'],
    ]);
    const ics = await get(`/freebusy/bob%40example.com.ics?${window}`, basic('alice@example.com'));
    expect(periods(await ics.text())).toHaveLength(3);
  });

  it('asks anonymous readers to log in unless the domain allows anonymous free/busy', async () => {
    for (const path of ['/freebusy/bob@example.com.vfb', '/freebusy/nobody@example.com.vfb']) {
      const response = await get(path);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
    }
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', anonymous: 'time' });
    const open = await get(`/freebusy/bob@example.com.vfb?${window}`);
    expect(open.status).toBe(200);
    expect(periods(await open.text())).toHaveLength(3);
    // A calendar its owner hides from everyone stays hidden.
    const calendarId = await defaultCalendarId(bob);
    await bob.setFreeBusySettings({ calendars: { [calendarId]: { visibility: 'none' } } });
    expect((await get(`/freebusy/bob@example.com.vfb?${window}`)).status).toBe(401);
    await bob.setFreeBusySettings({ calendars: { [calendarId]: { visibility: null } } });
    await admin.request('FreeBusy/setDomainPolicy', { domain: 'example.com', anonymous: 'none' });
    expect((await get(`/freebusy/bob@example.com.vfb?${window}`)).status).toBe(401);
  });

  it('serves the owner’s secret URL while it is published', async () => {
    const published = await bob.request('FreeBusy/publish', { enabled: true });
    expect(published.path).toBe(`/freebusy/bob%40example.com.vfb?token=${published.token}`);
    const response = await get(`${published.path}&${window}`);
    expect(response.status).toBe(200);
    expect(periods(await response.text())).toHaveLength(3);
    expect((await get(`/freebusy/bob@example.com.vfb?token=wrong&${window}`)).status).toBe(403);
    // Another address with Bob's token: refused alike.
    expect((await get(`/freebusy/alice@example.com.vfb?token=${published.token}`)).status).toBe(403);
    const again = await bob.request('FreeBusy/publish', { enabled: true });
    expect((await get(published.path!)).status).toBe(403);
    expect((await get(again.path!)).status).toBe(200);
    await bob.request('FreeBusy/publish', { enabled: false });
    expect((await get(again.path!)).status).toBe(403);
  });

  it('answers bad requests with clear errors', async () => {
    const auth = basic('alice@example.com');
    expect((await get('/freebusy/bob@example.com.vfb?start=yesterday', auth)).status).toBe(400);
    expect((await get('/freebusy/bob@example.com.vfb?start=2026-12-02T00:00:00Z&end=2026-12-01T00:00:00Z', auth)).status).toBe(400);
    expect((await get('/freebusy/bob@example.com.vfb?start=2026-12-01T00:00:00Z&end=2027-03-01T00:00:00Z', auth)).status).toBe(400);
    expect((await get('/freebusy/nobody@example.com.vfb', auth)).status).toBe(404);
    expect((await get('/freebusy/%E0%A4%A.vfb', auth)).status).toBe(404);
    expect((await get('/elsewhere', auth)).status).toBe(404);
    expect((await fetch(`${base}/freebusy/bob@example.com.vfb`, { method: 'POST', headers: auth })).status).toBe(405);
    // The default window: eight weeks from today (00:00 UTC).
    const body = await (await get('/freebusy/bob@example.com.vfb', auth)).text();
    const vfreebusy = new ICAL.Component(ICAL.parse(body)).getFirstSubcomponent('vfreebusy')!;
    const start = (vfreebusy.getFirstPropertyValue('dtstart') as ICAL.Time).toJSDate().getTime();
    const end = (vfreebusy.getFirstPropertyValue('dtend') as ICAL.Time).toJSDate().getTime();
    expect(end - start).toBe(56 * 86_400_000);
    expect(start % 86_400_000).toBe(0);
  });

  it('applies the IP deny list of the other doors', async () => {
    const denied = await startTestServer({ DMCI_FREEBUSY_PORT: '0', DMCI_FREEBUSY_HOST: '127.0.0.1', DMCI_IP_DENY: '127.0.0.1/32' });
    try {
      const response = await fetch(`http://127.0.0.1:${denied.app.freeBusyPort}/freebusy/bob@example.com.vfb`);
      expect(response.status).toBe(403);
      expect(await response.text()).toContain('deny list');
    } finally {
      await denied.stop();
    }
  });

  it('checks passwords through the one login guard: failures count and block the address', async () => {
    expect((await get('/freebusy/bob@example.com.vfb', basic('alice@example.com', 'wrong password'))).status).toBe(401);
    let status = 401;
    for (let i = 0; i < 12 && status === 401; i++) status = (await get('/freebusy/bob@example.com.vfb', basic('alice@example.com', `wrong ${i}`))).status;
    expect(status).toBe(429);
    // Blocked now, even with the right password.
    expect((await get('/freebusy/bob@example.com.vfb', basic('alice@example.com'))).status).toBe(429);
  });
});
