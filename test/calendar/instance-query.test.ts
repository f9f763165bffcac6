import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/db/database.ts';
import { queryIndexedInstances, type IndexedInstance } from '../../server/calendar/instance.repository.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';

/**
 * queryIndexedInstances reads the index in start order and stops after the
 * slice. Its answer must be exactly the one of sorting everything that
 * overlaps the range (the plain GiST query below): ties on start, floating
 * and all-day rows placed in the viewer's zone (which reorders them against
 * timed ones), long instances that began before the range, zero-length ones,
 * several calendars, and slices that end among wall-clock rows.
 */

const SLACK_MS = 14 * 3_600_000;
const HOUR = 3_600_000;
// Europe's clocks go forward on 2027-03-28: wall-clock rows there move an hour against their stored order.
const BASE = Date.parse('2027-03-27T00:00:00Z');
let url: string;
let db: Db;
let calendars: string[];

/** Deterministic pseudo-random numbers, so a failure can be replayed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

interface Row {
  start: Date;
  end: Date;
  allDay: boolean;
  floating: boolean;
}

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  await sql`insert into domains (name) values ('example.com')`.execute(db);
  await sql`insert into accounts (domain_id, email, display_name, password_hash) select id, 'q@example.com', 'Q', 'x' from domains`.execute(db);
  const made = await sql<{ id: string }>`
    insert into calendars (account_id, name) select id, 'c' || n from accounts, generate_series(1, 3) n returning id`.execute(db);
  calendars = made.rows.map((r) => r.id).sort();
  const rand = random(42);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
  // Calendar 0: mostly timed, some wall clock; 1: timed only; 2: mostly floating (their order is what the slack protects).
  const floatingShare = [0.25, 0, 0.9];
  let modseq = 0;
  for (const [c, calendarId] of calendars.entries()) {
    for (let e = 0; e < 40; e++) {
      modseq++;
      const event = await sql<{ id: string }>`
        insert into calendar_events (calendar_id, uid, ics, first_start, recurring, classification, modseq, created_modseq)
        values (${calendarId}::uuid, ${`e${c}-${e}`}, 'x', now(), true, ${pick(['PUBLIC', 'PRIVATE', 'CONFIDENTIAL'])}, ${modseq}, ${modseq}) returning id`.execute(db);
      const rows: Row[] = [];
      for (let n = 0; n < 25; n++) {
        // Starts on a coarse grid (ties across events) over four days around BASE, a few long, a few zero-length.
        const start = new Date(BASE + Math.floor((rand() * 4 - 1) * 24) * HOUR + pick([0, 0, 30, 45]) * 60_000);
        const kind = rand() < floatingShare[c]! ? (rand() < 0.5 ? 'floating' : 'allDay') : 'timed';
        if (kind === 'allDay') {
          const day = Math.floor(start.getTime() / 86_400_000) * 86_400_000;
          rows.push({ start: new Date(day), end: new Date(day + pick([1, 1, 1, 3]) * 86_400_000), allDay: true, floating: false });
          continue;
        }
        const minutes = pick([0, 30, 60, 60, 90, 60 * 30, 60 * 50]);
        rows.push({ start, end: new Date(start.getTime() + minutes * 60_000), allDay: false, floating: kind === 'floating' });
      }
      const values = rows.map(
        (row, n) => sql`(${event.rows[0]!.id}::uuid, ${calendarId}::uuid, ${`r${String(n).padStart(2, '0')}`},
                  tstzrange(${row.start}::timestamptz, ${row.end}::timestamptz, ${row.start.getTime() === row.end.getTime() ? '[]' : '[)'}),
                  ${row.start.toISOString()}, ${row.end.toISOString()}, null, ${row.allDay}, ${row.floating}, 'BUSY', false, null, 'PUBLIC', false, ${`s${n}`}, null)`,
      );
      await sql`
        insert into event_instances (event_id, calendar_id, recurrence_id, during, start_local, end_local, tzid, all_day, floating,
                                     busy_type, transparent, status, classification, is_override, summary, location)
        values ${sql.join(values)}`.execute(db);
    }
  }
  await sql`analyze`.execute(db);
}, 120_000);
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
});

/** Everything overlapping [from, to), sorted: the plain GiST query, no cut. */
async function reference(ids: string[], from: Date, to: Date, timeZone: string): Promise<IndexedInstance[]> {
  const wideFrom = new Date(from.getTime() - SLACK_MS);
  const wideTo = new Date(to.getTime() + SLACK_MS);
  const result = await sql<IndexedInstance>`
    with r as (
      select i.event_id, i.calendar_id, e.uid, i.recurrence_id,
             case when i.floating or i.all_day then (lower(i.during) at time zone 'UTC') at time zone ${timeZone} else lower(i.during) end as start_at,
             case when i.floating or i.all_day then (upper(i.during) at time zone 'UTC') at time zone ${timeZone} else upper(i.during) end as end_at,
             i.start_local, i.end_local, i.tzid, i.all_day, i.floating, i.busy_type, i.transparent, i.status,
             i.classification, e.classification as event_classification, i.is_override, i.summary, i.location
        from event_instances i join calendar_events e on e.id = i.event_id
       where i.calendar_id = any(${ids}::uuid[]) and i.during && tstzrange(${wideFrom}::timestamptz, ${wideTo}::timestamptz, '[)')
    )
    select * from r
     where (start_at < ${to}::timestamptz and end_at > ${from}::timestamptz)
        or (start_at = end_at and start_at >= ${from}::timestamptz and start_at < ${to}::timestamptz)
     order by start_at, event_id, recurrence_id collate "C"`.execute(db);
  return result.rows;
}

describe('queryIndexedInstances', () => {
  it('returns exactly the slice of the fully sorted answer', async () => {
    const rand = random(7);
    const zones = ['UTC', 'Europe/Berlin', 'America/New_York', 'Pacific/Kiritimati', 'Etc/GMT+12', 'Asia/Kolkata'];
    const subsets = [[0], [1], [2], [0, 1], [0, 2], [0, 1, 2]];
    let compared = 0;
    let cutAmongWallRows = 0;
    for (let round = 0; round < 120; round++) {
      const ids = subsets[round % subsets.length]!.map((i) => calendars[i]!);
      const timeZone = zones[Math.floor(rand() * zones.length)]!;
      const from = new Date(BASE + Math.floor((rand() * 3 - 1) * 24) * HOUR + Math.floor(rand() * 4) * 15 * 60_000);
      const to = new Date(from.getTime() + Math.ceil(rand() * 48) * HOUR);
      const all = await reference(ids, from, to, timeZone);
      const first = 1 + Math.floor(rand() * Math.min(80, all.length + 5));
      const skip = Math.floor(rand() * (first + 1));
      const slice = await queryIndexedInstances(db, ids, { from, to, timeZone, slackMs: SLACK_MS }, { skip, first });
      expect({ round, rows: slice.rows }).toEqual({ round, rows: all.slice(skip, first) });
      expect(slice.counted).toBe(Math.min(all.length, first));
      compared += slice.rows.length;
      if (all[first - 1]?.floating || all[first - 1]?.all_day) cutAmongWallRows++;
    }
    // The rounds did exercise something.
    expect(compared).toBeGreaterThan(1000);
    expect(cutAmongWallRows).toBeGreaterThan(5);
  });

  it('orders wall-clock rows by where they land, not by how they are stored (a time in the spring-forward gap)', async () => {
    const made = await sql<{ id: string }>`insert into calendars (account_id, name) select id, 'gap' from accounts returning id`.execute(db);
    const calendarId = made.rows[0]!.id;
    // Floating 02:30 does not exist in Berlin on 2027-03-28 and lands at 01:30Z; floating 03:00 lands at 01:00Z.
    for (const [uid, wall] of [
      ['gap', '2027-03-28T02:30:00Z'],
      ['after', '2027-03-28T03:00:00Z'],
    ] as const) {
      const event = await sql<{ id: string }>`
        insert into calendar_events (calendar_id, uid, ics, first_start, recurring, modseq, created_modseq)
        values (${calendarId}::uuid, ${uid}, 'x', now(), false, 1, 1) returning id`.execute(db);
      await sql`
        insert into event_instances (event_id, calendar_id, recurrence_id, during, start_local, end_local, all_day, floating, busy_type, transparent, classification, is_override)
        values (${event.rows[0]!.id}::uuid, ${calendarId}::uuid, '', tstzrange(${wall}::timestamptz, ${wall}::timestamptz + interval '30 minutes'), '', '', false, true, 'BUSY', false, 'PUBLIC', false)`.execute(db);
    }
    const range = { from: new Date('2027-03-28T00:00:00Z'), to: new Date('2027-03-28T06:00:00Z'), timeZone: 'Europe/Berlin', slackMs: SLACK_MS };
    const first = await queryIndexedInstances(db, [calendarId], range, { skip: 0, first: 1 });
    expect(first.rows.map((r) => [r.uid, r.start_at.toISOString()])).toEqual([['after', '2027-03-28T01:00:00.000Z']]);
    const both = await queryIndexedInstances(db, [calendarId], range, { skip: 0, first: 2 });
    expect(both.rows.map((r) => r.uid)).toEqual(['after', 'gap']);
  });

  it('answers an empty range and a slice past the end', async () => {
    const far = new Date(BASE + 400 * 86_400_000);
    expect(await queryIndexedInstances(db, calendars, { from: far, to: new Date(far.getTime() + HOUR), timeZone: 'UTC', slackMs: SLACK_MS }, { skip: 0, first: 10 })).toEqual({
      rows: [],
      counted: 0,
    });
    const from = new Date(BASE);
    const to = new Date(BASE + 6 * HOUR);
    const all = await reference(calendars, from, to, 'UTC');
    const past = await queryIndexedInstances(db, calendars, { from, to, timeZone: 'UTC', slackMs: SLACK_MS }, { skip: all.length + 3, first: all.length + 10 });
    expect(past).toEqual({ rows: [], counted: all.length });
  });
});
