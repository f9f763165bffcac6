import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, followChanges, sample, simpleEvent } from './helpers.ts';

let server: TestServer;
let db: Db;
let alice: DmciClient;
let calendarId: string;

beforeAll(async () => {
  server = await startTestServer();
  db = openTestDb(server.databaseUrl);
  await server.createAccount('alice@example.com');
  alice = await server.connect('alice@example.com');
  calendarId = await defaultCalendarId(alice);
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

async function scopeModseq(): Promise<number> {
  const row = await db.selectFrom('sync_scopes').select('modseq').where('id', '=', `cal:${calendarId}`).executeTakeFirstOrThrow();
  return row.modseq;
}

async function eventRowCount(): Promise<number> {
  const rows = await db.selectFrom('calendar_events').select('id').where('calendar_id', '=', calendarId).execute();
  return rows.length;
}

describe('CalendarEvent/set', () => {
  it('creates, reads, updates and destroys an event, leaving a tombstone', async () => {
    const ics = simpleEvent({ uid: 'crud-1@test', summary: 'First' });
    const created = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics } } });
    expect(created.created.a).toMatchObject({ uid: 'crud-1@test', version: 1 });
    expect(Number(created.newState)).toBe(Number(created.oldState) + 1);
    const id = created.created.a!.id;

    const got = await alice.request('CalendarEvent/get', { calendarId, ids: [id] });
    expect(got.list[0]).toMatchObject({ id, uid: 'crud-1@test', view: 'full', version: 1, recurring: false, firstStart: '2026-12-01T10:00:00.000Z' });
    expect(got.list[0]!.ics).toContain('SUMMARY:First');

    const updated = await alice.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: simpleEvent({ uid: 'crud-1@test', summary: 'Second' }), ifVersion: 1 } } });
    expect(updated.updated[id]).toEqual({ version: 2 });

    const destroyed = await alice.request('CalendarEvent/set', { calendarId, destroy: [{ id, ifVersion: 2 }] });
    expect(destroyed.destroyed).toEqual([id]);
    const tomb = await db.selectFrom('calendar_events').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
    expect(tomb).toMatchObject({ deleted: true, ics: null, modseq: Number(destroyed.newState) });
    expect(await db.selectFrom('event_instances').select('event_id').where('event_id', '=', id).execute()).toEqual([]);
    expect((await alice.request('CalendarEvent/get', { calendarId, ids: [id] })).notFound).toEqual([id]);
  });

  const rejections: Array<[string, string, string]> = [
    ['unparsable text', 'this is not iCalendar', 'INVALID_ICALENDAR'],
    ['a missing UID', simpleEvent().replace(/UID:[^\r]*\r\n/, ''), 'INVALID_ICALENDAR'],
    ['an end before its start', simpleEvent().replace(/DTEND:\d{8}T\d{6}Z/, 'DTEND:20261101T000000Z'), 'INVALID_ICALENDAR'],
    ['an unknown TZID', simpleEvent().replace(/DTSTART:(\d{8}T\d{6})Z/, 'DTSTART;TZID=Mars/Olympus_Mons:$1'), 'INVALID_ICALENDAR'],
    ['an object over 256 KiB', simpleEvent({ extra: `DESCRIPTION:${'x'.repeat(300 * 1024)}` }), 'LIMIT_EXCEEDED'],
    ['an unbounded high-frequency rule', simpleEvent({ rrule: 'FREQ=SECONDLY' }), 'INVALID_ICALENDAR'],
  ];
  it.each(rejections)('rejects %s with a clear error and writes nothing', async (_what, ics, code) => {
    const before = await scopeModseq();
    const rows = await eventRowCount();
    const result = await alice.request('CalendarEvent/set', { calendarId, create: { bad: { ics } } });
    expect(result.created).toEqual({});
    expect(result.notCreated.bad!.code).toBe(code);
    expect(result.notCreated.bad!.message.length).toBeGreaterThan(5);
    expect(result.newState).toBe(result.oldState);
    expect(await scopeModseq()).toBe(before);
    expect(await eventRowCount()).toBe(rows);
  });

  it('rejects too many overrides with LIMIT_EXCEEDED and writes nothing', async () => {
    const uid = 'many-overrides@test';
    const overrides = Array.from({ length: 1001 }, (_, i) => {
      const day = new Date(Date.UTC(2027, 0, 1) + i * 86_400_000).toISOString().slice(0, 10).replace(/-/g, '');
      return ['BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261001T000000Z', `RECURRENCE-ID:${day}T100000Z`, `DTSTART:${day}T110000Z`, `DTEND:${day}T113000Z`, 'END:VEVENT'].join('\r\n');
    });
    const master = simpleEvent({ uid, start: '2027-01-01T10:00:00Z', rrule: 'FREQ=DAILY;COUNT=2000' }).replace('END:VCALENDAR\r\n', '');
    const ics = `${master}${overrides.join('\r\n')}\r\nEND:VCALENDAR\r\n`;
    const before = await scopeModseq();
    const result = await alice.request('CalendarEvent/set', { calendarId, create: { bad: { ics } } });
    expect(result.notCreated.bad!.code).toBe('LIMIT_EXCEEDED');
    expect(await scopeModseq()).toBe(before);
  });

  it('reports per-object errors and commits the valid objects of the same call with one modseq', async () => {
    const result = await alice.request('CalendarEvent/set', {
      calendarId,
      create: { good1: { ics: simpleEvent() }, bad: { ics: 'nope' }, good2: { ics: simpleEvent() } },
    });
    expect(Object.keys(result.created).sort()).toEqual(['good1', 'good2']);
    expect(result.notCreated.bad!.code).toBe('INVALID_ICALENDAR');
    const rows = await db.selectFrom('calendar_events').select('modseq').where('id', 'in', [result.created.good1!.id, result.created.good2!.id]).execute();
    expect(rows.map((r) => r.modseq)).toEqual([Number(result.newState), Number(result.newState)]);
  });

  it('refuses a second event with the same UID with ALREADY_EXISTS', async () => {
    const ics = simpleEvent({ uid: 'dup@test' });
    await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics } } });
    const again = await alice.request('CalendarEvent/set', { calendarId, create: { b: { ics } } });
    expect(again.notCreated.b!.code).toBe('ALREADY_EXISTS');
  });

  it('refuses a conditional update with a stale version (VERSION_MISMATCH) and keeps the event', async () => {
    const { created } = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent({ uid: 'cond@test' }) } } });
    const id = created.a!.id;
    await alice.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: simpleEvent({ uid: 'cond@test', summary: 'v2' }) } } });
    const stale = await alice.request('CalendarEvent/set', { calendarId, update: { [id]: { ics: simpleEvent({ uid: 'cond@test', summary: 'v3' }), ifVersion: 1 } } });
    expect(stale.notUpdated[id]).toMatchObject({ code: 'VERSION_MISMATCH', details: { currentVersion: 2 } });
    const staleDestroy = await alice.request('CalendarEvent/set', { calendarId, destroy: [{ id, ifVersion: 1 }] });
    expect(staleDestroy.notDestroyed[id]!.code).toBe('VERSION_MISMATCH');
    const got = await alice.request('CalendarEvent/get', { calendarId, ids: [id] });
    expect(got.list[0]!.ics).toContain('SUMMARY:v2');
  });

  it('fails the whole call with STATE_MISMATCH when ifInState is stale, writing nothing', async () => {
    const state = String(await scopeModseq());
    await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent() } } });
    const rows = await eventRowCount();
    const error = await alice.request('CalendarEvent/set', { calendarId, ifInState: state, create: { b: { ics: simpleEvent() } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'STATE_MISMATCH' });
    expect(await eventRowCount()).toBe(rows);
    const ok = await alice.request('CalendarEvent/set', { calendarId, ifInState: String(await scopeModseq()), create: { b: { ics: simpleEvent() } } });
    expect(Object.keys(ok.created)).toEqual(['b']);
  });

  it('answers a retried create with the same idempotency key with the original result, never a duplicate', async () => {
    const ics = simpleEvent({ uid: 'idem@test' });
    const first = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics, idempotencyKey: 'key-1' } } });
    const state = await scopeModseq();
    const retry = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics, idempotencyKey: 'key-1' } } });
    expect(retry.created.a).toEqual(first.created.a);
    expect(retry.newState).toBe(retry.oldState);
    expect(await scopeModseq()).toBe(state);
    const rows = await db.selectFrom('calendar_events').select('id').where('uid', '=', 'idem@test').execute();
    expect(rows).toHaveLength(1);
  });

  it('answers an unknown calendar with NOT_FOUND', async () => {
    const error = await alice.request('CalendarEvent/set', { calendarId: '00000000-0000-4000-8000-000000000000', create: { a: { ics: simpleEvent() } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('CalendarEvent/changes', () => {
  it('pages with hasMoreChanges, splitting one modseq group across pages without losing a row', async () => {
    const client = await server.connect('alice@example.com');
    const { id: calId } = (await client.request('Calendar/set', { create: { c: { name: 'Paging' } } })).created.c!;
    const start = await client.request('CalendarEvent/changes', { calendarId: calId });
    const creates = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`k${i}`, { ics: simpleEvent() }]));
    const set = await client.request('CalendarEvent/set', { calendarId: calId, create: creates });
    expect(Object.keys(set.created)).toHaveLength(7);

    const replica = new Map<string, number>();
    let state = start.newState;
    let pages = 0;
    for (;;) {
      const page = await client.request('CalendarEvent/changes', { calendarId: calId, sinceState: state, maxChanges: 3 });
      expect(page.created.length + page.updated.length + page.destroyed.length).toBeLessThanOrEqual(3);
      for (const e of page.created) replica.set(e.id, e.version);
      state = page.newState;
      pages++;
      if (!page.hasMoreChanges) break;
    }
    expect(pages).toBe(3);
    expect(state).toBe(set.newState);
    expect([...replica.keys()].sort()).toEqual(Object.values(set.created).map((c) => c.id).sort());

    // A full initial sync, paged too.
    const initial = new Map<string, number>();
    const initialState = await followChanges(client, calId, initial, undefined, 2);
    expect(initialState).toBe(set.newState);
    expect(initial.size).toBe(7);
  });

  it('does not lose an object edited between the pages of an initial sync', async () => {
    const client = await server.connect('alice@example.com');
    const { id: calId } = (await client.request('Calendar/set', { create: { c: { name: 'Initial' } } })).created.c!;
    const created = await client.request('CalendarEvent/set', { calendarId: calId, create: Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, { ics: simpleEvent({ uid: `init-${i}@test` }) }])) });
    const ids = Object.values(created.created).map((c) => c.id).sort();
    const first = await client.request('CalendarEvent/changes', { calendarId: calId, maxChanges: 2 });
    expect(first.hasMoreChanges).toBe(true);
    // Edit an object the next page will hold.
    const pending = ids.find((id) => !first.created.some((e) => e.id === id))!;
    const uid = Object.values(created.created).find((c) => c.id === pending)!.uid;
    await client.request('CalendarEvent/set', { calendarId: calId, update: { [pending]: { ics: simpleEvent({ uid, summary: 'edited' }) } } });
    // A strict client: `updated` only touches objects it holds.
    const replica = new Map<string, number>(first.created.map((e) => [e.id, e.version]));
    let state = first.newState;
    for (let more = true; more; ) {
      const page = await client.request('CalendarEvent/changes', { calendarId: calId, sinceState: state, maxChanges: 2 });
      for (const e of page.created) replica.set(e.id, e.version);
      for (const e of page.updated) if (replica.has(e.id)) replica.set(e.id, e.version);
      for (const id of page.destroyed) replica.delete(id);
      state = page.newState;
      more = page.hasMoreChanges;
    }
    expect([...replica.keys()].sort()).toEqual(ids);
    expect(replica.get(pending)).toBe(2);
  });

  it('calls an object created since the state "created" on a later page, even after an edit moved it there', async () => {
    const client = await server.connect('alice@example.com');
    const { id: calId } = (await client.request('Calendar/set', { create: { c: { name: 'Pages' } } })).created.c!;
    const start = (await client.request('CalendarEvent/changes', { calendarId: calId })).newState;
    const x = (await client.request('CalendarEvent/set', { calendarId: calId, create: { x: { ics: simpleEvent({ uid: 'x@pages' }) } } })).created.x!;
    await client.request('CalendarEvent/set', { calendarId: calId, create: { y: { ics: simpleEvent({ uid: 'y@pages' }) }, z: { ics: simpleEvent({ uid: 'z@pages' }) } } });
    await client.request('CalendarEvent/set', { calendarId: calId, update: { [x.id]: { ics: simpleEvent({ uid: 'x@pages', summary: 'edited' }) } } });
    // X now sorts after Y and Z (its modseq moved past theirs) but was created before them.
    const created: string[] = [];
    const updated: string[] = [];
    let state = start;
    for (let more = true; more; ) {
      const page = await client.request('CalendarEvent/changes', { calendarId: calId, sinceState: state, maxChanges: 1 });
      created.push(...page.created.map((e) => e.id));
      updated.push(...page.updated.map((e) => e.id));
      state = page.newState;
      more = page.hasMoreChanges;
    }
    expect(created).toHaveLength(3);
    expect(created).toContain(x.id);
    expect(updated).toEqual([]);
  });

  it('reports updates and destroys, and omits objects created and destroyed since the state', async () => {
    const before = String(await scopeModseq());
    const { created } = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent() }, b: { ics: simpleEvent() } } });
    const mid = String(await scopeModseq());
    await alice.request('CalendarEvent/set', { calendarId, destroy: [created.b!.id] });
    const fromBefore = await alice.request('CalendarEvent/changes', { calendarId, sinceState: before });
    expect(fromBefore.created.map((e) => e.id)).toEqual([created.a!.id]);
    expect(fromBefore.destroyed).toEqual([]);
    const fromMid = await alice.request('CalendarEvent/changes', { calendarId, sinceState: mid });
    expect(fromMid.destroyed).toEqual([created.b!.id]);
    expect(fromMid.created).toEqual([]);
  });

  it('refuses a malformed state with INVALID_STATE, and a state of the earlier format or one never issued with CANNOT_CALCULATE_CHANGES', async () => {
    await expect(alice.request('CalendarEvent/changes', { calendarId, sinceState: 'garbage' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await expect(alice.request('CalendarEvent/changes', { calendarId, sinceState: `b1.2-${calendarId}` })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
    await expect(alice.request('CalendarEvent/changes', { calendarId, sinceState: '99999999' })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
    await expect(alice.request('Calendar/changes', { sinceState: `i1-${calendarId}` })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
  });
});

describe('CalendarEvent/query over the samples', () => {
  it('expands outlook-weekly-exception.ics to exactly the 7 instances its README lists', async () => {
    const client = await server.connect('alice@example.com');
    const { id: calId } = (await client.request('Calendar/set', { create: { c: { name: 'Samples' } } })).created.c!;
    const set = await client.request('CalendarEvent/set', { calendarId: calId, create: { w: { ics: sample('outlook-weekly-exception.ics') } } });
    expect(set.notCreated).toEqual({});
    const { instances } = await client.request('CalendarEvent/query', { calendarIds: [calId], from: '2026-10-01T00:00:00Z', to: '2027-01-01T00:00:00Z' });
    expect(instances.map((i) => [i.start, i.end])).toEqual([
      ['2026-10-19T13:30:00.000Z', '2026-10-19T14:00:00.000Z'],
      ['2026-10-26T13:30:00.000Z', '2026-10-26T14:00:00.000Z'],
      ['2026-11-03T16:00:00.000Z', '2026-11-03T16:30:00.000Z'],
      ['2026-11-16T14:30:00.000Z', '2026-11-16T15:00:00.000Z'],
      ['2026-11-23T14:30:00.000Z', '2026-11-23T15:00:00.000Z'],
      ['2026-11-30T14:30:00.000Z', '2026-11-30T15:00:00.000Z'],
      ['2026-12-07T14:30:00.000Z', '2026-12-07T15:00:00.000Z'],
    ]);
    const moved = instances[2]!;
    expect(moved).toMatchObject({ isOverride: true, busyType: 'BUSY-TENTATIVE', startLocal: '2026-11-03T11:00:00', tzid: 'America/New_York', summary: 'Team sync (moved to Tuesday)' });
    expect(moved.recurrenceId).toMatch(/^20261102T143000Z$/);
    expect(instances[0]).toMatchObject({ startLocal: '2026-10-19T09:30:00', endLocal: '2026-10-19T10:00:00', busyType: 'BUSY', view: 'full', location: 'Room 4.12' });

    // Paged: position/limit over the same sorted list.
    const page2 = await client.request('CalendarEvent/query', { calendarIds: [calId], from: '2026-10-01T00:00:00Z', to: '2027-01-01T00:00:00Z', position: 3, limit: 3 });
    expect(page2.instances.map((i) => i.start)).toEqual(instances.slice(3, 6).map((i) => i.start));
    expect(page2.hasMore).toBe(true);
  });

  it('places a Windows zone name without VTIMEZONE across the EU DST change', async () => {
    await alice.request('CalendarEvent/set', { calendarId, create: { n: { ics: sample('outlook-no-vtimezone.ics') } } });
    const { instances } = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-03-20T00:00:00Z', to: '2026-04-05T00:00:00Z' });
    expect(instances.map((i) => i.start)).toEqual([
      '2026-03-25T15:00:00.000Z',
      '2026-03-26T15:00:00.000Z',
      '2026-03-27T15:00:00.000Z',
      '2026-03-28T15:00:00.000Z',
      '2026-03-29T14:00:00.000Z',
    ]);
  });

  it('places an all-day event in the viewer zone', async () => {
    await alice.request('CalendarEvent/set', { calendarId, create: { d: { ics: sample('allday-oof.ics') } } });
    const utc = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-20T00:00:00Z', to: '2026-12-31T00:00:00Z' });
    const oof = utc.instances.find((i) => i.allDay)!;
    expect(oof).toMatchObject({ start: '2026-12-24T00:00:00.000Z', end: '2026-12-27T00:00:00.000Z', busyType: 'BUSY-UNAVAILABLE', startLocal: '2026-12-24' });
    const berlin = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-20T00:00:00Z', to: '2026-12-31T00:00:00Z', timeZone: 'Europe/Berlin' });
    expect(berlin.instances.find((i) => i.allDay)).toMatchObject({ start: '2026-12-23T23:00:00.000Z', end: '2026-12-26T23:00:00.000Z' });
    // Just outside the range in the viewer's zone: a query ending at Berlin midnight of the 24th misses it.
    const before = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-20T00:00:00Z', to: '2026-12-23T23:00:00Z', timeZone: 'Europe/Berlin' });
    expect(before.instances.filter((i) => i.allDay)).toEqual([]);
  });

  it('places a floating event in the query zone, matching the range precisely', async () => {
    const ics = simpleEvent({ uid: 'floating@test', start: '2026-12-05T09:00:00Z' }).replace(/(DTSTART|DTEND):(\d{8}T\d{6})Z/g, '$1:$2');
    const set = await alice.request('CalendarEvent/set', { calendarId, create: { f: { ics } } });
    const id = set.created.f!.id;
    const find = async (from: string, to: string, timeZone: string) =>
      (await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from, to, timeZone })).instances.filter((i) => i.eventId === id);
    expect(await find('2026-12-05T13:00:00Z', '2026-12-05T15:00:00Z', 'America/New_York')).toMatchObject([
      { start: '2026-12-05T14:00:00.000Z', end: '2026-12-05T15:00:00.000Z', floating: true, tzid: null, startLocal: '2026-12-05T09:00:00' },
    ]);
    expect(await find('2026-12-05T09:00:00Z', '2026-12-05T10:00:00Z', 'America/New_York')).toEqual([]);
    expect(await find('2026-12-05T09:00:00Z', '2026-12-05T10:00:00Z', 'UTC')).toHaveLength(1);
    expect(await find('2026-12-04T18:00:00Z', '2026-12-04T20:00:00Z', 'Pacific/Kiritimati')).toMatchObject([{ start: '2026-12-04T19:00:00.000Z' }]);
  });

  it('refuses a bad range and an unknown zone', async () => {
    await expect(alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-20T00:00:00Z', to: '2026-12-01T00:00:00Z' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' })).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    await expect(
      alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2026-12-01T00:00:00Z', to: '2026-12-02T00:00:00Z', timeZone: 'Nowhere/Special' }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
  });
});
