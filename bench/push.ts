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
 * of sockets in the same run (target ≥ 0.5×).
 */
const SESSIONS = 1000;
const WRITES = 30;
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
    };
  } finally {
    for (const worker of workers) await worker.stop();
    await server.stop();
    await database.release();
  }
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
