import { resolveCalendar } from '../connector-sim/calendar-sources.ts';
import { DmciClient } from '../connector-sim/client.ts';
import type { PushFrame } from '../protocol/index.ts';
import { BENCH_PASSWORD, prepareDatabase, startBenchServer } from './support/cluster-setup.ts';
import { benchDatabase } from './support/database.ts';
import { percentiles, round } from './support/stats.ts';

/**
 * `npm run bench -- scheduling [attendees] [rounds]`: implicit scheduling
 * (issue 10) on one node.
 *
 * - invitation: an organizer invites 50 internal attendees (all connected,
 *   each following their inbox) and one room; reported: the organizer's
 *   CalendarEvent/set (commit, copies, messages and the room's answer
 *   included), and send-to-last-inbox-push (an upper bound of
 *   commit-to-last-push: the clock starts when the request is sent);
 * - room answer: a set inviting only the room, against the same set of a
 *   plain event in the same run (the baseline);
 * - 50-way concurrent booking: 50 sessions book the room for the same slot at
 *   once; exactly one must be accepted; reported: time until the last answer.
 */
const ATTENDEES = 50;
const ROUNDS = 20;
const now = () => performance.timeOrigin + performance.now();
const DOMAIN = 'bench.example';
const ROOM = `room@${DOMAIN}`;

export async function run(args: string[]): Promise<object> {
  const attendees = Number(args[0] ?? ATTENDEES);
  const rounds = Number(args[1] ?? ROUNDS);
  const database = await benchDatabase();
  const { admin } = await prepareDatabase(database.url);
  const { server, url } = await startBenchServer(database.url);
  const clients: DmciClient[] = [];
  const connect = async (login: string) => {
    const client = new DmciClient({ url, login, password: BENCH_PASSWORD, requestTimeoutMs: 120_000 });
    await client.connect();
    clients.push(client);
    return client;
  };
  try {
    const adminClient = await connect(admin.login);
    const emails = Array.from({ length: attendees }, (_, i) => `a${i}@${DOMAIN}`);
    for (const email of ['organizer@bench.example', ...emails]) await adminClient.request('Admin/accountCreate', { email, displayName: email.split('@')[0]!, password: BENCH_PASSWORD });
    await adminClient.request('Admin/directoryCreate', { domain: DOMAIN, kind: 'resource', fields: { displayName: 'Room', email: ROOM, resourceType: 'room' } });
    await adminClient.request('Admin/resourceSetPolicy', { email: ROOM, policy: { bookingWindowDays: 730, maxDurationMinutes: 100_000 } });

    const organizer = await connect('organizer@bench.example');
    const organizerCal = (await resolveCalendar(organizer, undefined)).id;
    // Every attendee connected and following its inbox: a push per invitation.
    const arrivals = new Map<string, number[]>();
    const people: Array<{ client: DmciClient; calendarId: string; email: string }> = [];
    for (const email of emails) {
      const client = await connect(email);
      const page = await client.request('Inbox/changes', {});
      client.on('push', (frame: PushFrame) => {
        if (frame.scope !== page.scope) return;
        const changes = frame.changes as { created?: Array<{ uid: string }> } | undefined;
        for (const m of changes?.created ?? []) arrivals.set(m.uid, [...(arrivals.get(m.uid) ?? []), now()]);
      });
      await client.request('Push/subscribe', { scopes: [{ scope: page.scope, state: page.newState }] });
      people.push({ client, calendarId: (await resolveCalendar(client, undefined)).id, email });
    }

    // Warm-up (worker pool, plans, caches), not measured.
    await organizer.request('CalendarEvent/set', { calendarId: organizerCal, create: { w: { ics: meetingIcs('warm@bench', [...emails, ROOM], 0) } } });

    const setMs: number[] = [];
    const lastPushMs: number[] = [];
    for (let i = 1; i <= rounds; i++) {
      const uid = `inv${i}@bench`;
      const sentAt = now();
      const result = await organizer.request('CalendarEvent/set', { calendarId: organizerCal, create: { m: { ics: meetingIcs(uid, [...emails, ROOM], i) } } });
      setMs.push(now() - sentAt);
      const id = result.created.m!.id;
      if (result.scheduled?.[id]?.[ROOM]?.partstat !== 'ACCEPTED') throw new Error(`round ${i}: the room did not accept`);
      const deadline = Date.now() + 60_000;
      while ((arrivals.get(uid)?.length ?? 0) < attendees && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
      const times = arrivals.get(uid) ?? [];
      if (times.length !== attendees) throw new Error(`round ${i}: ${times.length} of ${attendees} inbox pushes arrived`);
      lastPushMs.push(Math.max(...times) - sentAt);
    }

    const roomMs: number[] = [];
    const plainMs: number[] = [];
    for (let i = 0; i < rounds * 2; i++) {
      let sentAt = now();
      await organizer.request('CalendarEvent/set', { calendarId: organizerCal, create: { r: { ics: meetingIcs(`room${i}@bench`, [ROOM], 1000 + i) } } });
      roomMs.push(now() - sentAt);
      sentAt = now();
      await organizer.request('CalendarEvent/set', { calendarId: organizerCal, create: { p: { ics: meetingIcs(`plain${i}@bench`, [], 1000 + i) } } });
      plainMs.push(now() - sentAt);
    }

    const concurrentMs: number[] = [];
    for (let round = 0; round < 5; round++) {
      const slot = 5000 + round;
      const sentAt = now();
      const answers = await Promise.all(
        people.map(async (p, i) => {
          const r = await p.client.request('CalendarEvent/set', { calendarId: p.calendarId, create: { b: { ics: meetingIcs(`c${round}-${i}@bench`, [ROOM], slot, p.email) } } });
          return r.scheduled?.[r.created.b!.id]?.[ROOM]?.partstat;
        }),
      );
      concurrentMs.push(now() - sentAt);
      const accepted = answers.filter((a) => a === 'ACCEPTED').length;
      if (accepted !== 1) throw new Error(`concurrent round ${round}: ${accepted} acceptances`);
    }

    return {
      attendees,
      rounds,
      invitationSetMs: percentiles(setMs),
      invitationSendToLastInboxPushMs: percentiles(lastPushMs),
      roomBookingSetMs: percentiles(roomMs),
      plainEventSetMs: percentiles(plainMs),
      roomVsPlainP50: round(percentiles(roomMs).p50! / percentiles(plainMs).p50!, 2),
      concurrentBooking: { sessions: people.length, rounds: 5, acceptancesPerRound: 1, allAnsweredMs: percentiles(concurrentMs) },
      note: 'shared 2-core VM with other engineers running tests: figures are noisy; same-run ratios mean more than absolute values',
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.stop();
    await database.release();
  }
}

/** An hour-long meeting on day `slot` from 2027-01-01 (each slot its own hour, so the room is free). */
function meetingIcs(uid: string, attendees: string[], slot: number, organizer = 'organizer@bench.example'): string {
  const start = new Date(Date.UTC(2027, 0, 1, 0, 0, 0) + slot * 3_600_000);
  const fmt = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  return [
    'BEGIN:VCALENDAR',
    'VERSION:2.0',
    'PRODID:-//dmci bench//EN',
    'BEGIN:VEVENT',
    `UID:${uid}`,
    'DTSTAMP:20261201T000000Z',
    `DTSTART:${fmt(start)}`,
    `DTEND:${fmt(new Date(start.getTime() + 3_600_000))}`,
    'SUMMARY:Bench meeting',
    ...(attendees.length ? [`ORGANIZER:mailto:${organizer}`, ...attendees.map((a) => `ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${a}`)] : []),
    'END:VEVENT',
    'END:VCALENDAR',
    '',
  ].join('\r\n');
}
