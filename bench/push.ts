import { resolveCalendar } from '../connector-sim/calendar-sources.ts';
import { DmciClient } from '../connector-sim/client.ts';
import { encodeFrame } from '../protocol/index.ts';
import { BenchChild } from './support/child.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase } from './support/database.ts';
import { median, percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- push [sessions]`: one write fanned out to 1,000 sessions
 * following the calendar. Reports write-to-receipt latency per session (from
 * the moment the writer sends CalendarEvent/set, so it includes the write
 * itself: an upper bound of commit-to-receipt; target p99 ≤ 100 ms) and the
 * fan-out rate (sessions reached per second, first to last receipt), against
 * a bare ws server broadcasting a frame of the same size to the same number
 * of sockets in the same run (target ≥ 0.5×). Then write throughput: a few
 * sessions writing back to back for 5 s, with and without the followers.
 */
const SESSIONS = 1000;
const WRITES = 30;
/** The sustained phase: this many connector sessions writing back to back to the followed calendar. */
const SUSTAINED_WRITERS = 4;
const SUSTAINED_MS = 5000;
const PER_WORKER = 250;
const ADDRESSES = Array.from({ length: 8 }, (_, i) => `127.0.0.${i + 1}`);
const now = () => performance.timeOrigin + performance.now();

export async function run(args: string[]): Promise<object> {
  const sessions = Number(args[0] ?? SESSIONS);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  const { server, url } = await startBenchServer(database.url);
  const workers: BenchChild[] = [];
  try {
    const adminClient = new DmciClient({ url, ...admin });
    await adminClient.connect();
    await adminClient.request('Admin/accountCreate', { email: 'owner@bench.example', displayName: 'Owner', password: BENCH_PASSWORD });
    await adminClient.close();
    const writer = new DmciClient({ url, login: 'owner@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 60_000 });
    await writer.connect();
    const calendar = await resolveCalendar(writer, undefined);
    // Same-run baseline for the sustained phase: the same writers with nobody following.
    const unfollowed = await sustainedWrites(url, calendar.id);

    for (let opened = 0; opened < sessions; opened += PER_WORKER) {
      const { child } = await BenchChild.start('./push-worker.ts');
      workers.push(child);
      await child.ask('open-dmci', { url, count: Math.min(PER_WORKER, sessions - opened), login: 'owner@bench.example', password: BENCH_PASSWORD, scope: calendar.scope, addresses: ADDRESSES });
    }

    const latencies: number[] = [];
    const fanoutRates: number[] = [];
    let frameBytes = 0;
    for (let i = 0; i < WRITES; i++) {
      const ics = eventIcs(i);
      const sentAt = now();
      const result = await writer.request('CalendarEvent/set', { calendarId: calendar.id, create: { e: { ics } } });
      const times = await collect(workers, result.newState, sessions);
      for (const t of times) latencies.push(t - sentAt);
      fanoutRates.push(sessions / (Math.max((Math.max(...times) - Math.min(...times)) / 1000, 1e-6)));
      if (i === 0) {
        const sample = await writer.request('CalendarEvent/changes', { calendarId: calendar.id, sinceState: result.oldState, maxChanges: 10 });
        frameBytes = encodeFrame({ type: 'push', scope: calendar.scope, oldState: result.oldState, newState: result.newState, changes: sample }).byteLength;
      }
    }
    await writer.close();
    const followed = await sustainedWrites(url, calendar.id);
    // Every follower must reach the last state: pushes may coalesce several commits, never skip the end.
    await collect(workers, followed.lastState, sessions);
    for (const worker of workers.splice(0)) await worker.stop();

    const baseline = await bareBroadcast(sessions, frameBytes);
    return {
      sessions,
      writes: WRITES,
      pushFrameBytes: frameBytes,
      writeToReceiptMs: percentiles(latencies),
      writeToReceiptTargetP99Ms: 100,
      fanoutSessionsPerSecond: { median: Math.round(median(fanoutRates)) },
      bareWsBroadcast: baseline,
      fanoutVsBareWs: round(median(fanoutRates) / baseline.fanoutSocketsPerSecond.median, 2),
      fanoutTargetRatio: 0.5,
      sustained: {
        what: `${SUSTAINED_WRITERS} sessions writing one event per CalendarEvent/set back to back to one calendar for ${SUSTAINED_MS / 1000} s`,
        writesPerSecondWithoutFollowers: unfollowed.perSecond,
        writesPerSecondWithFollowers: followed.perSecond,
        followers: sessions,
        ratio: round(followed.perSecond / unfollowed.perSecond, 2),
      },
    };
  } finally {
    for (const worker of workers) await worker.stop();
    await server.stop();
    await database.release();
  }
}

/** Writers committing back to back for SUSTAINED_MS; the last state any of them saw. */
async function sustainedWrites(url: string, calendarId: string): Promise<{ perSecond: number; lastState: string }> {
  const clients = await Promise.all(
    Array.from({ length: SUSTAINED_WRITERS }, async () => {
      const client = new DmciClient({ url, login: 'owner@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 60_000 });
      await client.connect();
      return client;
    }),
  );
  let writes = 0;
  let last = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(async (client, w) => {
      for (let i = 0; performance.now() - started < SUSTAINED_MS; i++) {
        const result = await client.request('CalendarEvent/set', { calendarId, create: { e: { ics: eventIcs(w * 1_000_000 + i) } } });
        last = Math.max(last, Number(result.newState));
        writes++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  return { perSecond: Math.round(writes / seconds), lastState: String(last) };
}

async function collect(workers: BenchChild[], key: string, expected: number): Promise<number[]> {
  const deadline = Date.now() + 30_000;
  const times: number[] = [];
  while (Date.now() < deadline) {
    for (const worker of workers) times.push(...(await worker.ask<{ times: number[] }>('receipts', { key })).times);
    if (times.length >= expected) return times;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`only ${times.length} of ${expected} sessions received state ${key}`);
}

async function bareBroadcast(sockets: number, frameBytes: number) {
  const { child: server, ready } = await BenchChild.start('./bare-broadcast-server.ts');
  const workers: BenchChild[] = [];
  try {
    for (let opened = 0; opened < sockets; opened += PER_WORKER) {
      const { child } = await BenchChild.start('./push-worker.ts');
      workers.push(child);
      await child.ask('open-bare', { url: `ws://127.0.0.1:${ready.port as number}`, count: Math.min(PER_WORKER, sockets - opened), addresses: ADDRESSES });
    }
    const latencies: number[] = [];
    const rates: number[] = [];
    for (let i = 0; i < WRITES; i++) {
      const key = `bare-${i}`;
      // A frame of the dmci push's size, so both sides move the same bytes.
      const bytes = encodeFrame({ type: 'push', scope: 'bare', newState: key, changes: 'x'.repeat(Math.max(0, frameBytes - 40)) });
      const { sentAt } = await server.ask<{ sentAt: number }>('broadcast', { bytes: [...bytes] });
      const times = await collect(workers, key, sockets);
      for (const t of times) latencies.push(t - sentAt);
      rates.push(sockets / (Math.max((Math.max(...times) - Math.min(...times)) / 1000, 1e-6)));
    }
    return { sendToReceiptMs: percentiles(latencies), fanoutSocketsPerSecond: { median: Math.round(median(rates)) } };
  } finally {
    for (const worker of workers) await worker.stop();
    await server.stop();
  }
}

function eventIcs(i: number): string {
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci bench//EN', 'BEGIN:VEVENT', `UID:push-${i}-${Date.now()}@bench.example`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261201T090000Z', 'DTEND:20261201T100000Z', `SUMMARY:Pushed event ${i}`, 'LOCATION:Room 1', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}
