import WebSocket from 'ws';
import { resolveCalendar } from '../connector-sim/calendar-sources.ts';
import { DmciClient } from '../connector-sim/client.ts';
import { CloseCode, DefaultLimits, encodeFrame, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/index.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase } from './support/database.ts';
import { arrayOfNils, denseVtimezoneEvent, millionNilsFrame } from './support/hostile-inputs.ts';
import { median, percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- hostile [samples] [attackers]`: what an attacker at the
 * documented limits costs everyone else (issue 7 items 3 and 4). A second
 * session measures a login (connect → welcome) and a small request
 * (CalendarEvent/get: three queries) on an idle server, then again while
 * attackers run the worst inputs the limits allow, all in the same run:
 *
 * - CalendarEvent/set of dense-VTIMEZONE objects, as many as the request
 *   budget lets through (each refused at its object budget), several in
 *   flight per attacker;
 * - hellos of the maximum pre-auth size, and 1 MiB unauthenticated frames of
 *   nils (refused on their length);
 * - 1 MiB frames of a million nils on authenticated sockets (refused by the
 *   values count before decoding).
 *
 * The server runs in a child process with the pre-auth budget per address
 * raised (startBenchServer: everything here comes from 127.0.0.1, the
 * measuring client too) and screening off (the wrong-password hellos would
 * block the address).
 */
const SAMPLES = 30;
const ATTACKERS = 2;

export async function run(args: string[]): Promise<object> {
  const samples = Number(args[0] ?? SAMPLES);
  const attackers = Number(args[1] ?? ATTACKERS);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  const { server, url } = await startBenchServer(database.url, {
    DMCI_SCREEN_FAILURES: '100000000',
    DMCI_REQUEST_TIMEOUT_MS: '120000',
  });
  try {
    const adminClient = new DmciClient({ url, ...admin });
    await adminClient.connect();
    for (const who of ['user', 'mallory']) {
      await adminClient.request('Admin/accountCreate', { email: `${who}@bench.example`, displayName: who, password: BENCH_PASSWORD });
    }
    await adminClient.close();
    const user = new DmciClient({ url, login: 'user@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 120_000 });
    await user.connect();
    const calendar = await resolveCalendar(user, undefined);

    // Everyone here logs in from 127.0.0.1, the attackers too: the login guard lets one password check per
    // address run at a time (4012 LOGIN_IN_PROGRESS), so the measured login waits its turn and retries, as a
    // connector behind the same NAT would. The time until it gets in is what is measured.
    const loginFromSharedAddress = async (): Promise<DmciClient> => {
      for (;;) {
        const client = new DmciClient({ url, login: 'user@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 120_000 });
        try {
          await client.connect();
          return client;
        } catch (error) {
          if ((error as { closeCode?: number }).closeCode !== CloseCode.LOGIN_IN_PROGRESS) throw error;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    };
    const measure = async () => {
      const loginMs: number[] = [];
      const requestMs: number[] = [];
      for (let i = 0; i < samples; i++) {
        let started = performance.now();
        const fresh = await loginFromSharedAddress();
        loginMs.push(performance.now() - started);
        await fresh.close();
        started = performance.now();
        await user.request('CalendarEvent/get', { calendarId: calendar.id, ids: ['00000000-0000-4000-8000-000000000000'] });
        requestMs.push(performance.now() - started);
      }
      return { loginMs, requestMs };
    };

    // Warm-up: the first calendar write starts the worker threads.
    await user.request('CalendarEvent/set', { calendarId: calendar.id, create: { warm: { ics: denseVtimezoneEvent('warm@bench.example', 'HOURLY') } } });
    const idle = await measure();

    let stop = false;
    const counts = { hostileSets: 0, refusedObjects: 0, preAuthFrames: 0, authenticatedFloodFrames: 0 };
    const hostile = await Promise.all(
      Array.from({ length: attackers }, async (_, a) => {
        const mallory = new DmciClient({ url, login: 'mallory@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 300_000 });
        await mallory.connect();
        return { a, mallory, calendarId: (await resolveCalendar(mallory, undefined)).id };
      }),
    );
    const loops = hostile.flatMap(({ a, mallory, calendarId }) => [
      // Calendar sets: two in flight per attacker, 12 dense objects each (past the request budget).
      ...[0, 1].map(async (lane) => {
        for (let n = 0; !stop; n++) {
          const create = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`o${i}`, { ics: denseVtimezoneEvent(`d-${a}-${lane}-${n}-${i}@bench.example`) }]));
          const result = await mallory.request('CalendarEvent/set', { calendarId, create }).catch(() => null);
          // A refused request can settle at once: yield, so the loop never starves the event loop.
          await new Promise((resolve) => setImmediate(resolve));
          counts.hostileSets++;
          counts.refusedObjects += Object.keys(result?.notCreated ?? {}).length;
        }
      }),
      (async () => {
        for (let n = 0; !stop; n++) {
          const big = n % 2 === 0;
          await rawFrame(url, big ? arrayOfNils(DefaultLimits.maxFrameBytes - 5) : maxHello());
          counts.preAuthFrames++;
        }
      })(),
      (async () => {
        while (!stop) {
          await authenticatedFlood(url);
          counts.authenticatedFloodFrames++;
        }
      })(),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the attack get going
    let attacked: Awaited<ReturnType<typeof measure>>;
    try {
      attacked = await measure();
    } finally {
      // Also on a failure: the attack loops must end before the server does, or they spin on a dead socket.
      stop = true;
      await Promise.all(loops);
    }
    for (const { mallory } of hostile) await mallory.close();
    await user.close();

    const summary = (values: number[]) => ({ median: round(median(values), 2), ...percentiles(values, [90]) });
    return {
      samples,
      attackers,
      attack: counts,
      idle: { loginMs: summary(idle.loginMs), smallRequestMs: summary(idle.requestMs) },
      underAttack: { loginMs: summary(attacked.loginMs), smallRequestMs: summary(attacked.requestMs) },
      ratios: {
        loginMedian: round(median(attacked.loginMs) / median(idle.loginMs), 2),
        smallRequestMedian: round(median(attacked.requestMs) / median(idle.requestMs), 2),
      },
    };
  } finally {
    await server.stop();
    await database.release();
  }
}

/** A hello of the largest size accepted before authentication, with a wrong password. */
function maxHello(): Uint8Array {
  const hello = { type: 'hello', versions: [...SUPPORTED_PROTOCOL_VERSIONS], client: { name: 'mallory', version: '1' }, auth: { method: 'password', login: 'mallory@bench.example', password: '' } };
  const room = DefaultLimits.maxHelloBytes - encodeFrame(hello).length - 3;
  return encodeFrame({ ...hello, auth: { ...hello.auth, password: 'x'.repeat(Math.min(1024, room)) } });
}

/** Opens a socket, sends one frame before authenticating, waits for the close. */
function rawFrame(url: string, frame: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.on('error', () => resolve());
    ws.on('open', () => ws.send(frame));
    ws.on('close', () => resolve());
  });
}

/** Logs in (resume would be cheaper, but a password login is what an attacker has), then sends a million nils. */
async function authenticatedFlood(url: string): Promise<void> {
  const client = new DmciClient({ url, login: 'mallory@bench.example', password: BENCH_PASSWORD, requestTimeoutMs: 60_000 });
  try {
    await client.connect();
    await new Promise<void>((resolve) => {
      client.once('close', () => resolve());
      client.sendRaw(millionNilsFrame());
    });
  } catch {
    // closed by the server: expected
  }
  await client.close().catch(() => {});
}
