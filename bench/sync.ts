import { Replica } from '../connector-sim/replica.ts';
import { calendarEventsSource, resolveCalendar } from '../connector-sim/calendar-sources.ts';
import { DmciClient } from '../connector-sim/client.ts';
import { createDatabase } from '../server/db/database.ts';
import { sql } from 'kysely';
import { benchDatabase } from './support/database.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { median, percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- sync`: a fresh connector's initial sync of a 10,000-event
 * calendar (20 % recurring) — target ≤ 2 s — and an incremental sync of 100
 * changes — target ≤ 50 ms — through the connector-sim replica, exactly as a
 * connector does it (CalendarEvent/changes pages of 500, applied to a
 * replica). Baseline in the same run: the raw SQL that reads the same rows.
 */
const EVENTS = 10_000;
const RUNS = 5;

export async function run(args: string[]): Promise<object> {
  const events = Number(args[0] ?? EVENTS);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  const { server, url } = await startBenchServer(database.url);
  try {
    const adminClient = new DmciClient({ url, ...admin });
    await adminClient.connect();
    await adminClient.request('Admin/accountCreate', { email: 'owner@bench.example', displayName: 'Owner', password: BENCH_PASSWORD });
    await adminClient.close();

    const writer = new DmciClient({ url, login: 'owner@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 120_000 });
    await writer.connect();
    const calendar = await resolveCalendar(writer, undefined);
    const fillStarted = performance.now();
    for (let i = 0; i < events; i += 500) {
      const create = Object.fromEntries(Array.from({ length: Math.min(500, events - i) }, (_, j) => [`e${i + j}`, { ics: eventIcs(i + j) }]));
      const result = await writer.request('CalendarEvent/set', { calendarId: calendar.id, create });
      const failed = Object.keys(result.notCreated).length;
      if (failed > 0) throw new Error(`${failed} events refused: ${JSON.stringify(Object.values(result.notCreated)[0])}`);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;

    const initialMs: number[] = [];
    const incrementalMs: number[] = [];
    const sqlMs: number[] = [];
    const { db } = createDatabase({ url: database.url, poolSize: 2, applicationName: 'dmci-bench' });
    for (let run = 0; run < RUNS; run++) {
      const reader = new DmciClient({ url, login: 'owner@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 120_000 });
      await reader.connect();
      const replica = new Replica(reader);
      const source = calendarEventsSource(calendar, { maxChanges: 500 });
      let started = performance.now();
      await replica.track(source);
      initialMs.push(performance.now() - started);
      const count = Object.keys(replica.objectsOf(calendar.scope)).length;
      if (count !== events) throw new Error(`replica holds ${count} events, expected ${events}`);

      // 100 changes by another session, then the reader catches up with /changes.
      replica.detach();
      const ids = Object.keys(replica.objectsOf(calendar.scope)).slice(run * 100, run * 100 + 100);
      const objects = replica.objectsOf<{ uid: string }>(calendar.scope);
      const update = Object.fromEntries(ids.map((id) => [id, { ics: eventIcs(Number(/^bench-(\d+)@/.exec(objects[id]!.uid)![1]), `changed in run ${run}`) }]));
      const updated = await writer.request('CalendarEvent/set', { calendarId: calendar.id, update });
      if (Object.keys(updated.updated).length !== 100) throw new Error(`updates refused: ${JSON.stringify(Object.values(updated.notUpdated)[0])}`);
      started = performance.now();
      await replica.catchUp(calendar.scope);
      incrementalMs.push(performance.now() - started);
      const seen = ids.filter((id) => replica.objectsOf<{ ics: string }>(calendar.scope)[id]!.ics.includes(`changed in run ${run}`)).length;
      if (seen !== 100) throw new Error(`the incremental sync brought ${seen} of the 100 changes`);
      await reader.close();

      started = performance.now();
      await sql`select id, uid, version, ics, recurring, first_start, last_end from calendar_events where calendar_id = ${calendar.id} and not deleted order by modseq`.execute(db);
      sqlMs.push(performance.now() - started);
    }
    await db.destroy();
    await writer.close();
    return {
      events,
      recurringShare: 0.2,
      fillSecondsThroughProtocol: round(fillSeconds, 1),
      initialSyncMs: { median: round(median(initialMs), 1), ...percentiles(initialMs, [50]), runs: initialMs.map((v) => round(v, 1)) },
      initialSyncTargetMs: 2000,
      incrementalSync100Ms: { median: round(median(incrementalMs), 1), runs: incrementalMs.map((v) => round(v, 1)) },
      incrementalTargetMs: 50,
      baselineRawSqlAllRowsMs: { median: round(median(sqlMs), 1), runs: sqlMs.map((v) => round(v, 1)) },
      initialSyncVsRawSql: round(median(initialMs) / median(sqlMs), 1),
    };
  } finally {
    await server.stop();
    await database.release();
  }
}

/** Event i: every fifth one recurring (weekly for a year), spread over 2026–2027, with a realistic body. */
function eventIcs(i: number, note = ''): string {
  const start = new Date(Date.UTC(2026, 0, 1, 8) + (i % 700) * 86_400_000 + (i % 9) * 3_600_000);
  const end = new Date(start.getTime() + 3_600_000);
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci bench//EN',
    'BEGIN:VEVENT',
    `UID:bench-${i}@bench.example`,
    'DTSTAMP:20261101T000000Z',
    `DTSTART:${fmt(start)}`,
    `DTEND:${fmt(end)}`,
    ...(i % 5 === 0 ? ['RRULE:FREQ=WEEKLY;COUNT=52'] : []),
    `SUMMARY:Meeting ${i}${note ? ` (${note})` : ''}`,
    'LOCATION:Room 4.12',
    'DESCRIPTION:Agenda: status\\, risks\\, next steps. Dial-in details follow.',
    'ORGANIZER:mailto:owner@bench.example',
    'ATTENDEE;PARTSTAT=ACCEPTED:mailto:someone@bench.example',
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
