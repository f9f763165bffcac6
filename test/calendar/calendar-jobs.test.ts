import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DmciClient } from '../../connector-sim/client.ts';
import { extendInstanceHorizon, pruneCalendarTombstones } from '../../server/calendar/calendar-jobs.ts';
import type { Db } from '../../server/db/database.ts';
import { openTestDb } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { defaultCalendarId, simpleEvent } from './helpers.ts';

const DAY = 86_400_000;
let server: TestServer;
let db: Db;
let alice: DmciClient;
let calendarId: string;

beforeAll(async () => {
  // A short horizon keeps the index small and lets the test reach past it.
  server = await startTestServer({ DMCI_INSTANCE_HORIZON_DAYS: '60' });
  db = openTestDb(server.databaseUrl);
  await server.createAccount('alice@example.com');
  alice = await server.connect('alice@example.com');
  calendarId = await defaultCalendarId(alice);
});
afterAll(async () => {
  await db.destroy();
  await server.stop();
});

describe('tombstone pruning', () => {
  it('deletes old tombstones, raises min_modseq, and sends older clients to a full resync', async () => {
    const old = (await alice.request('CalendarEvent/changes', { calendarId })).newState;
    const { created } = await alice.request('CalendarEvent/set', { calendarId, create: { a: { ics: simpleEvent() }, b: { ics: simpleEvent() } } });
    const destroyed = await alice.request('CalendarEvent/set', { calendarId, destroy: [created.a!.id] });
    const recent = destroyed.newState;

    // Nothing is old enough yet.
    expect(await pruneCalendarTombstones(db, 30)).toBe(0);
    await db.updateTable('calendar_events').set({ deleted_at: sql<Date>`now() - interval '31 days'` }).where('id', '=', created.a!.id).execute();
    expect(await pruneCalendarTombstones(db, 30)).toBe(1);

    const scope = await db.selectFrom('sync_scopes').selectAll().where('id', '=', `cal:${calendarId}`).executeTakeFirstOrThrow();
    expect(scope.min_modseq).toBe(Number(recent));
    await expect(alice.request('CalendarEvent/changes', { calendarId, sinceState: old })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
    // A client at or after min_modseq still gets its changes; a fresh sync works.
    expect((await alice.request('CalendarEvent/changes', { calendarId, sinceState: recent })).destroyed).toEqual([]);
    const fresh = await alice.request('CalendarEvent/changes', { calendarId });
    expect(fresh.created.map((e) => e.id)).toEqual([created.b!.id]);
  });
});

describe('the occurrence index horizon', () => {
  it('indexes an unbounded series up to the horizon, expands past it on the fly, and the job extends it', async () => {
    const now = Date.parse('2027-01-01T00:00:00Z');
    server.app.services.calendarEvents.clock = () => new Date(now);
    const { created } = await alice.request('CalendarEvent/set', {
      calendarId,
      create: { d: { ics: simpleEvent({ uid: 'daily@h', start: '2027-01-01T09:00:00Z', minutes: 30, rrule: 'FREQ=DAILY' }) } },
    });
    const id = created.d!.id;
    const row = await db.selectFrom('calendar_events').select('expanded_until').where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.expanded_until!.getTime()).toBe(now + 60 * DAY);
    const indexed = async () => (await db.selectFrom('event_instances').select('recurrence_id').where('event_id', '=', id).execute()).length;
    expect(await indexed()).toBe(60);

    // March 2027 is past the horizon: expanded on the fly.
    const query = { calendarIds: [calendarId], from: '2027-03-10T00:00:00Z', to: '2027-03-15T00:00:00Z' };
    const onTheFly = await alice.request('CalendarEvent/query', query);
    expect(onTheFly.instances.map((i) => i.start)).toEqual(['10', '11', '12', '13', '14'].map((d) => `2027-03-${d}T09:00:00.000Z`));
    expect(onTheFly.instances[0]).toMatchObject({ eventId: id, uid: 'daily@h', recurrenceId: '20270310T090000Z' });

    // A window straddling the horizon gets every instance exactly once.
    const straddle = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2027-02-27T00:00:00Z', to: '2027-03-04T00:00:00Z' });
    expect(straddle.instances.map((i) => i.start.slice(0, 10))).toEqual(['2027-02-27', '2027-02-28', '2027-03-01', '2027-03-02', '2027-03-03']);

    // Six weeks later the job pushes the index forward (the job runs hourly; here it is called directly).
    const later = new Date(now + 45 * DAY);
    expect(await extendInstanceHorizon(db, server.app.services.icalWork, 60, server.app.services.calendarEvents.limits, later)).toBeGreaterThanOrEqual(1);
    const extended = await db.selectFrom('calendar_events').select('expanded_until').where('id', '=', id).executeTakeFirstOrThrow();
    expect(extended.expanded_until!.getTime()).toBe(later.getTime() + 60 * DAY);
    expect(await indexed()).toBe(105);
    expect((await alice.request('CalendarEvent/query', query)).instances).toEqual(onTheFly.instances);
    // Not due again until the horizon comes within the slack.
    expect(await extendInstanceHorizon(db, server.app.services.icalWork, 60, server.app.services.calendarEvents.limits, later)).toBe(0);
  });
});

describe('history before the index', () => {
  it('indexes an old series from one year back and expands older history on the fly', async () => {
    const now = Date.parse('2027-06-01T00:00:00Z');
    server.app.services.calendarEvents.clock = () => new Date(now);
    const { created } = await alice.request('CalendarEvent/set', {
      calendarId,
      create: { w: { ics: simpleEvent({ uid: 'weekly-old@h', start: '2024-01-01T08:00:00Z', minutes: 60, rrule: 'FREQ=WEEKLY;COUNT=400' }) } },
    });
    const id = created.w!.id;
    const row = await db.selectFrom('calendar_events').select(['expanded_from', 'expanded_until']).where('id', '=', id).executeTakeFirstOrThrow();
    expect(row.expanded_from!.getTime()).toBe(now - 366 * DAY);
    const first = await db.selectFrom('event_instances').select(sql<Date>`min(lower(during))`.as('first')).where('event_id', '=', id).executeTakeFirstOrThrow();
    expect(first.first.getTime()).toBeGreaterThanOrEqual(now - 366 * DAY);

    // January 2025 is before the index: on the fly; a range straddling expanded_from gets each week once.
    const old = await alice.request('CalendarEvent/query', { calendarIds: [calendarId], from: '2025-01-01T00:00:00Z', to: '2025-02-01T00:00:00Z' });
    expect(old.instances.filter((i) => i.eventId === id).map((i) => i.start.slice(0, 10))).toEqual(['2025-01-06', '2025-01-13', '2025-01-20', '2025-01-27']);
    const edge = row.expanded_from!;
    const straddle = await alice.request('CalendarEvent/query', {
      calendarIds: [calendarId],
      from: new Date(edge.getTime() - 21 * DAY).toISOString(),
      to: new Date(edge.getTime() + 21 * DAY).toISOString(),
    });
    const starts = straddle.instances.filter((i) => i.eventId === id).map((i) => i.start);
    expect(starts).toHaveLength(6);
    expect(new Set(starts).size).toBe(6);
  });
});

describe('the occurrence index', () => {
  it('answers time-range probes through the GiST index on (calendar_id, during)', async () => {
    const plan = await db.connection().execute(async (conn) => {
      await sql`set enable_seqscan = off`.execute(conn);
      const result = await sql<{ 'QUERY PLAN': string }>`
        explain select event_id from event_instances
         where calendar_id = any(${[calendarId]}::uuid[]) and during && tstzrange('2027-03-01', '2027-04-01', '[)')`.execute(conn);
      await sql`reset enable_seqscan`.execute(conn);
      return result.rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).toContain('event_instances_during');
  });
});

describe('paging across the edges of the index', () => {
  it('pages through instances the index holds and ones expanded on the fly exactly as one query returns them', async () => {
    // Two series indexed at different times have different horizons, so past the earlier one on-the-fly
    // instances interleave with indexed ones; before the index's one year of history everything is on the fly.
    const now = Date.parse('2027-06-01T00:00:00Z');
    const { id: cal } = (await alice.request('Calendar/set', { create: { c: { name: 'Paging' } } })).created.c!;
    const floating = (ics: string) => ics.replace(/(DTSTART|DTEND):(\d{8}T\d{6})Z/g, '$1:$2');
    const allDay = (uid: string, day: string) =>
      simpleEvent({ uid, rrule: 'FREQ=WEEKLY' }).replace(/DTSTART:\d{8}T\d{6}Z/, `DTSTART;VALUE=DATE:${day}`).replace(/DTEND:\d{8}T\d{6}Z/, `DTEND;VALUE=DATE:${day.slice(0, 6)}${String(Number(day.slice(6)) + 2).padStart(2, '0')}`);
    server.app.services.calendarEvents.clock = () => new Date(now);
    const early = await alice.request('CalendarEvent/set', {
      calendarId: cal,
      create: {
        hist: { ics: simpleEvent({ uid: 'paging-hist@h', start: '2025-01-01T08:00:00Z', minutes: 60, rrule: 'FREQ=DAILY;COUNT=1500' }) },
        float: { ics: floating(simpleEvent({ uid: 'paging-float@h', start: '2025-01-01T09:00:00Z', minutes: 30, rrule: 'FREQ=DAILY' })) },
        weekly: { ics: allDay('paging-allday@h', '20250103') },
      },
    });
    expect(early.notCreated).toEqual({});
    server.app.services.calendarEvents.clock = () => new Date(now + 30 * DAY);
    const late = await alice.request('CalendarEvent/set', {
      calendarId: cal,
      create: {
        late: { ics: simpleEvent({ uid: 'paging-late@h', start: '2025-06-01T08:00:00Z', minutes: 60, rrule: 'FREQ=DAILY' }) },
        twice: { ics: simpleEvent({ uid: 'paging-twice@h', start: '2025-06-01T07:30:00Z', minutes: 15, rrule: 'FREQ=DAILY;BYHOUR=7,20' }) },
      },
    });
    expect(late.notCreated).toEqual({});

    const ranges = [
      [now - 366 * DAY - 4 * DAY, now - 366 * DAY + 4 * DAY],
      [now + 56 * DAY, now + 64 * DAY],
    ];
    for (const [from, to] of ranges) {
      for (const timeZone of ['UTC', 'Europe/Berlin', 'Pacific/Auckland']) {
        const query = { calendarIds: [cal], from: new Date(from!).toISOString(), to: new Date(to!).toISOString(), timeZone };
        const whole = await alice.request('CalendarEvent/query', { ...query, limit: 1000 });
        expect(whole.hasMore).toBe(false);
        expect(whole.instances.length).toBeGreaterThan(30);
        for (const limit of [1, 3, 7]) {
          const paged = [];
          for (let position = 0; ; ) {
            const page = await alice.request('CalendarEvent/query', { ...query, position, limit });
            expect(page.position).toBe(position);
            paged.push(...page.instances);
            position += page.instances.length;
            if (!page.hasMore) break;
            expect(page.instances).toHaveLength(limit);
          }
          expect(paged).toEqual(whole.instances);
        }
      }
    }
  });
});
