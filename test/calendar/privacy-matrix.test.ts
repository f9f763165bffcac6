import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { AccessRight, Grant, PushFrame } from '../../protocol/index.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The privacy matrix (DESIGN §6): every read path (get, changes, query,
 * push) × every right × PUBLIC/PRIVATE/CONFIDENTIAL × master/override. Each
 * component carries its own markers in SUMMARY (with a parameter), LOCATION
 * (with ALTREP), DESCRIPTION, ATTENDEE, a VALARM and the object's real UID;
 * the test fails if a marker reaches a viewer who may not see it, and if one
 * a viewer may see is missing. The expectations are written out here, not
 * computed by the policy under test.
 */

type Seen = 'all' | 'details' | 'time';
type Klass = 'PUBLIC' | 'PRIVATE' | 'CONFIDENTIAL';
const CLASSES: Klass[] = ['PUBLIC', 'PRIVATE', 'CONFIDENTIAL'];
const PLACEMENTS = ['master', 'override'] as const;

const readerTable: Record<Klass, Seen> = { PUBLIC: 'all', PRIVATE: 'time', CONFIDENTIAL: 'time' };
const VIEWERS: Array<{ name: string; grant: AccessRight | Grant | 'owner'; sees: Record<Klass, Seen> | null }> = [
  { name: 'freebusy', grant: 'freebusy', sees: null },
  { name: 'details', grant: 'details', sees: { PUBLIC: 'details', PRIVATE: 'time', CONFIDENTIAL: 'time' } },
  { name: 'read', grant: 'read', sees: readerTable },
  { name: 'write', grant: 'write', sees: readerTable },
  { name: 'manage', grant: 'manage', sees: readerTable },
  { name: 'delegate', grant: { right: 'write', delegate: true, privateAccess: false }, sees: readerTable },
  { name: 'privatedelegate', grant: { right: 'write', delegate: true, privateAccess: true }, sees: { PUBLIC: 'all', PRIVATE: 'all', CONFIDENTIAL: 'all' } },
  { name: 'owner', grant: 'owner', sees: { PUBLIC: 'all', PRIVATE: 'all', CONFIDENTIAL: 'all' } },
];

interface Marked {
  tag: string;
  /** The class of each component: the one under test and the other (PUBLIC). */
  components: Array<{ key: string; klass: Klass }>;
  ics: string;
}

const FIELDS_AT_DETAILS = ['SUM', 'LOC'];
const FIELDS_AT_ALL = ['PARAM', 'ALTREP', 'DESC', 'ATT', 'CN', 'ALARM', 'XPROP'];

function component(key: string, klass: Klass, lines: string[]): string[] {
  return [
    'BEGIN:VEVENT',
    ...lines,
    `CLASS:${klass}`,
    `SUMMARY;X-NOTE=${key}-PARAM:${key}-SUM`,
    `LOCATION;ALTREP="https://example.com/${key}-ALTREP":${key}-LOC`,
    `DESCRIPTION:${key}-DESC`,
    `ATTENDEE;CN=${key}-CN;PARTSTAT=ACCEPTED:mailto:${key}-ATT@example.com`,
    `X-TRACKING:${key}-XPROP`,
    'BEGIN:VALARM',
    'ACTION:DISPLAY',
    `DESCRIPTION:${key}-ALARM`,
    'TRIGGER:-PT10M',
    'END:VALARM',
    'END:VEVENT',
  ];
}

function marked(klass: Klass, placement: (typeof PLACEMENTS)[number]): Marked {
  const tag = `${klass}-${placement}`;
  const uid = `${tag}-REALUID@example.com`;
  const masterClass = placement === 'master' ? klass : 'PUBLIC';
  const overrideClass = placement === 'override' ? klass : 'PUBLIC';
  const ics = [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//matrix//EN',
    ...component(`${tag}-M`, masterClass, [`UID:${uid}`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261207T090000Z', 'DTEND:20261207T100000Z', 'RRULE:FREQ=WEEKLY;COUNT=4']),
    ...component(`${tag}-O`, overrideClass, [`UID:${uid}`, 'DTSTAMP:20261101T000000Z', 'RECURRENCE-ID:20261214T090000Z', 'DTSTART:20261214T110000Z', 'DTEND:20261214T120000Z']),
    'END:VCALENDAR',
    '',
  ].join('\r\n');
  return { tag, components: [{ key: `${tag}-M`, klass: masterClass }, { key: `${tag}-O`, klass: overrideClass }], ics };
}

const EVENTS = CLASSES.flatMap((klass) => PLACEMENTS.map((placement) => marked(klass, placement)));

/**
 * Checks one path's whole answer for one viewer. `shown` lists which fields
 * the path carries at all (query instances carry summary and location only).
 */
function check(path: string, viewer: string, answer: unknown, sees: Record<Klass, Seen>, shown: { ics: boolean }): void {
  // Unfolded (RFC 5545 §3.1), so a marker split over a folded line is still found.
  const text = JSON.stringify(answer).replace(/\\r\\n[ \t]/g, '');
  for (const event of EVENTS) {
    for (const { key, klass } of event.components) {
      const level = sees[klass];
      for (const field of [...FIELDS_AT_DETAILS, ...FIELDS_AT_ALL]) {
        const marker = `${key}-${field}`;
        const allowed = level === 'all' || (level === 'details' && FIELDS_AT_DETAILS.includes(field));
        const where = `${path} as ${viewer}: ${marker} (${klass})`;
        if (!allowed) expect(text.includes(marker), `${where} leaked`).toBe(false);
        else if (shown.ics || FIELDS_AT_DETAILS.includes(field)) expect(text.includes(marker), `${where} is missing`).toBe(true);
      }
    }
    const uidAllowed = event.components.every((c) => sees[c.klass] === 'all');
    const where = `${path} as ${viewer}: real UID of ${event.tag}`;
    expect(text.includes(`${event.tag}-REALUID`), uidAllowed ? `${where} is missing` : `${where} leaked`).toBe(uidAllowed);
  }
}

let server: TestServer;
let calendarId: string;
const clients = new Map<string, DmciClient>();
const pushed = new Map<string, PushFrame[]>();

beforeAll(async () => {
  server = await startTestServer();
  for (const { name } of VIEWERS) {
    await server.createAccount(`${name}@example.com`);
    clients.set(name, await server.connect(`${name}@example.com`));
  }
  const owner = clients.get('owner')!;
  calendarId = (await owner.request('Calendar/set', { create: { c: { name: 'Matrix' } } })).created.c!.id;
  const shareWith = Object.fromEntries(VIEWERS.filter((v) => v.grant !== 'owner').map((v) => [`${v.name}@example.com`, v.grant as AccessRight | Grant]));
  const shared = await owner.request('Calendar/set', { update: { [calendarId]: { shareWith } } });
  expect(shared.notUpdated).toEqual({});
  // Everyone who may follows the calendar before the events are written, so each gets them pushed.
  for (const { name, sees } of VIEWERS) {
    const client = clients.get(name)!;
    const frames: PushFrame[] = [];
    pushed.set(name, frames);
    client.on('push', (frame) => {
      if (frame.scope === `cal:${calendarId}`) frames.push(frame);
    });
    const subscribed = await client.request('Push/subscribe', { scopes: [{ scope: `cal:${calendarId}` }] });
    if (sees === null) expect(subscribed.notSubscribed[`cal:${calendarId}`]?.code).toBe('FORBIDDEN');
    else expect(subscribed.subscribed).toHaveLength(1);
  }
  const created = await owner.request('CalendarEvent/set', { calendarId, create: Object.fromEntries(EVENTS.map((e) => [e.tag, { ics: e.ics }])) });
  expect(created.notCreated).toEqual({});
});
afterAll(() => server.stop());

describe.each(VIEWERS)('a viewer with $name', ({ name, sees }) => {
  const client = () => clients.get(name)!;
  const ids = async () => (await clients.get('owner')!.request('CalendarEvent/changes', { calendarId })).created.map((e) => e.id);
  const query = { calendarIds: [] as string[], from: '2026-12-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };

  if (sees === null) {
    it('is refused on every event path (free/busy only)', async () => {
      await expect(client().request('CalendarEvent/get', { calendarId, ids: await ids() })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(client().request('CalendarEvent/changes', { calendarId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      await expect(client().request('CalendarEvent/query', { ...query, calendarIds: [calendarId] })).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(pushed.get(name)).toEqual([]);
    });
    return;
  }

  it('CalendarEvent/get', async () => {
    const got = await client().request('CalendarEvent/get', { calendarId, ids: await ids() });
    expect(got.list).toHaveLength(EVENTS.length);
    check('get', name, got, sees, { ics: true });
  });

  it('CalendarEvent/changes', async () => {
    const changes = await client().request('CalendarEvent/changes', { calendarId });
    expect(changes.created).toHaveLength(EVENTS.length);
    check('changes', name, changes, sees, { ics: true });
  });

  it('CalendarEvent/query', async () => {
    const { instances } = await client().request('CalendarEvent/query', { ...query, calendarIds: [calendarId] });
    expect(instances).toHaveLength(EVENTS.length * 4);
    check('query', name, instances, sees, { ics: false });
  });

  it('push', async () => {
    const frames = pushed.get(name)!;
    await expect.poll(() => frames.flatMap((f) => (f.changes as { created?: unknown[] } | undefined)?.created ?? []).length).toBe(EVENTS.length);
    check('push', name, frames, sees, { ics: true });
  });
});
