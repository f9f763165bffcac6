import { sql } from 'kysely';
import { resolveCalendar } from '../connector-sim/calendar-sources.ts';
import { DmciClient } from '../connector-sim/client.ts';
import { createDatabase } from '../server/db/database.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase } from './support/database.ts';
import { median, percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- expand`: a one-month window query over 1,000 daily
 * series that started ten years ago (target ≤ 20 ms: the occurrence index,
 * not iteration from DTSTART). Measured through the protocol
 * (CalendarEvent/query, first page and the whole month), against raw SQL in
 * the same run: the start-ordered index scan the query uses, and the GiST
 * probe-sort-limit it used before (for context).
 */
const SERIES = 1000;
const RUNS = 20;

export async function run(args: string[]): Promise<object> {
  const series = Number(args[0] ?? SERIES);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  const { server, url } = await startBenchServer(database.url);
  const { db } = createDatabase({ url: database.url, poolSize: 2, applicationName: 'dmci-bench' });
  try {
    const adminClient = new DmciClient({ url, ...admin });
    await adminClient.connect();
    await adminClient.request('Admin/accountCreate', { email: 'owner@bench.example', displayName: 'Owner', password: BENCH_PASSWORD });
    await adminClient.close();
    const client = new DmciClient({ url, login: 'owner@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 600_000 });
    await client.connect();
    const calendar = await resolveCalendar(client, undefined);

    const tenYearsAgo = new Date(Date.now() - 10 * 365.25 * 86_400_000);
    const fillStarted = performance.now();
    for (let i = 0; i < series; i += 50) {
      const create = Object.fromEntries(Array.from({ length: Math.min(50, series - i) }, (_, j) => [`s${i + j}`, { ics: dailySeries(i + j, tenYearsAgo) }]));
      const result = await client.request('CalendarEvent/set', { calendarId: calendar.id, create });
      if (Object.keys(result.notCreated).length > 0) throw new Error(`refused: ${JSON.stringify(Object.values(result.notCreated)[0])}`);
    }
    const fillSeconds = (performance.now() - fillStarted) / 1000;
    const indexRows = Number((await sql<{ n: string }>`select count(*) as n from event_instances`.execute(db)).rows[0]!.n);

    const monthStart = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth() + 1, 1));
    const monthEnd = new Date(Date.UTC(monthStart.getUTCFullYear(), monthStart.getUTCMonth() + 1, 1));
    const firstPageMs: number[] = [];
    const wholeMonthMs: number[] = [];
    const sqlMs: number[] = [];
    const orderedSqlMs: number[] = [];
    let instances = 0;
    for (let run = 0; run < RUNS; run++) {
      let started = performance.now();
      await client.request('CalendarEvent/query', { calendarIds: [calendar.id], from: monthStart.toISOString(), to: monthEnd.toISOString(), limit: 256 });
      firstPageMs.push(performance.now() - started);

      started = performance.now();
      instances = 0;
      // A month of 1,000 daily series is 30,000 instances, above the 20,000 one query may page through: two halves.
      const middle = new Date((monthStart.getTime() + monthEnd.getTime()) / 2);
      for (const [from, to] of [[monthStart, middle], [middle, monthEnd]] as const) {
        for (let position = 0; ; ) {
          const page = await client.request('CalendarEvent/query', { calendarIds: [calendar.id], from: from.toISOString(), to: to.toISOString(), position, limit: 1000 });
          instances += page.instances.filter((i) => new Date(i.start) >= from).length;
          position += page.instances.length;
          if (!page.hasMore) break;
        }
      }
      wholeMonthMs.push(performance.now() - started);

      // The plan queries used before the start-ordered index: take every overlapping row from the GiST probe, sort, cut.
      started = performance.now();
      await sql`select event_id, recurrence_id, during from event_instances
                 where calendar_id = ${calendar.id} and during && tstzrange(${monthStart.toISOString()}::timestamptz, ${monthEnd.toISOString()}::timestamptz)
                 order by lower(during) limit 256`.execute(db);
      sqlMs.push(performance.now() - started);

      // The plan queries use now: an ordered range scan of the start index that stops after the page.
      started = performance.now();
      await sql`select during_start, event_id, recurrence_id from event_instances
                 where calendar_id = ${calendar.id} and not floating and not all_day
                   and during_start >= ${monthStart.toISOString()}::timestamptz and during_start < ${monthEnd.toISOString()}::timestamptz
                 order by during_start, event_id, recurrence_id collate "C" limit 256`.execute(db);
      orderedSqlMs.push(performance.now() - started);
    }
    await client.close();
    const expected = series * Math.round((monthEnd.getTime() - monthStart.getTime()) / 86_400_000);
    if (instances !== expected) throw new Error(`the month held ${instances} instances, expected ${expected}`);
    return {
      series,
      seriesStarted: tenYearsAgo.toISOString().slice(0, 10),
      window: `${monthStart.toISOString().slice(0, 10)} .. ${monthEnd.toISOString().slice(0, 10)}`,
      fillSecondsThroughProtocol: round(fillSeconds, 1),
      indexRows,
      instancesInWindow: instances,
      firstPage256Ms: { median: round(median(firstPageMs), 2), ...percentiles(firstPageMs, [90]) },
      targetMs: 20,
      wholeMonthAllPagesMs: { median: round(median(wholeMonthMs), 1) },
      baselineRawSqlFirst256Ms: { median: round(median(sqlMs), 2), plan: 'GiST probe of the whole month, sort, limit 256' },
      baselineOrderedIndexFirst256Ms: { median: round(median(orderedSqlMs), 2), plan: 'start-ordered btree range scan, limit 256' },
      firstPageVsRawSql: round(median(firstPageMs) / median(sqlMs), 1),
      firstPageVsOrderedIndex: round(median(firstPageMs) / median(orderedSqlMs), 1),
    };
  } finally {
    await db.destroy();
    await server.stop();
    await database.release();
  }
}

function dailySeries(i: number, since: Date): string {
  const start = new Date(Date.UTC(since.getUTCFullYear(), since.getUTCMonth(), since.getUTCDate(), 6 + (i % 10), (i % 4) * 15));
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci bench//EN', 'BEGIN:VEVENT', `UID:daily-${i}@bench.example`, 'DTSTAMP:20161101T000000Z', `DTSTART:${fmt(start)}`, `DTEND:${fmt(new Date(start.getTime() + 30 * 60_000))}`, 'RRULE:FREQ=DAILY', `SUMMARY:Daily ${i}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}
