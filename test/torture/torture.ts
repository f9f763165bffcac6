import { sql } from 'kysely';
import { calendarEventsSource } from '../../connector-sim/calendar-sources.ts';
import { DmciClient, DmciConnectionError, DmciRequestError } from '../../connector-sim/client.ts';
import { Replica, verifyReplica, type ScopeSource } from '../../connector-sim/replica.ts';
import type { Calendar, CalendarEvent } from '../../protocol/index.ts';
import { runCli, startNode, type NodeProcess } from '../helpers/cluster.ts';
import { decodeCursor } from '../../server/sync/state-token.ts';
import { openTestDb } from '../helpers/database.ts';
import { freePort } from '../helpers/ports.ts';
import { Random } from '../helpers/random.ts';

/**
 * The torture test, in the spirit of Dovecot's imaptest checkpoint: simulated
 * connectors do random creates, updates and deletes on their own calendars
 * and on one calendar they all share, through several nodes, while nodes are
 * SIGKILLed and restarted and every PostgreSQL connection of the cluster is
 * cut. Then everything quiesces and we check:
 *
 * - every replica equals the server (`diverged`),
 * - every acknowledged create is present unless an acknowledged delete took
 *   it, with at least the acknowledged version (`lost`),
 * - no UID is stored twice, however often a create was retried (`duplicates`),
 * - no replica ever saw a scope's state go backwards (`modseqRegressions`).
 */
export interface TortureOptions {
  databaseUrl: string;
  nodes: number;
  connectors: number;
  durationMs: number;
  /** Average milliseconds between injected faults; 0 = no faults. */
  faultEveryMs: number;
  seed: number;
  log?: (line: string) => void;
}

export interface TortureReport {
  ops: number;
  acknowledged: { creates: number; updates: number; destroys: number };
  unacknowledged: number;
  faults: { nodeKills: number; connectionKills: number };
  reconnects: number;
  pushesApplied: number;
  lost: number;
  diverged: number;
  duplicates: number;
  modseqRegressions: number;
  /** Live attendee copies at the end (scheduling operations ran). */
  scheduledCopies: number;
  /** Acknowledged answers checked at the end against both copies (those whose meeting was not changed significantly since). */
  answersChecked: number;
  problems: string[];
}

const PASSWORD = 'torture test password';

/**
 * The acknowledged-answer ledger, by copy id: the SEQUENCE answered and the
 * PARTSTATs the copy may end with — the last acknowledged answer, plus any
 * sent after it whose acknowledgement was lost (it may or may not have
 * landed); null when no answer was acknowledged first (nothing certain).
 */
interface AnswerEntry {
  sequence: number;
  attendee: string;
  allowed: Set<string> | null;
}

interface Acked {
  calendarId: string;
  uid: string;
  version: number;
  destroyed: boolean;
}

export async function runTorture(options: TortureOptions): Promise<TortureReport> {
  const log = options.log ?? (() => {});
  const random = new Random(options.seed);
  const report: TortureReport = {
    ops: 0,
    acknowledged: { creates: 0, updates: 0, destroys: 0 },
    unacknowledged: 0,
    faults: { nodeKills: 0, connectionKills: 0 },
    reconnects: 0,
    pushesApplied: 0,
    lost: 0,
    diverged: 0,
    duplicates: 0,
    modseqRegressions: 0,
    scheduledCopies: 0,
    answersChecked: 0,
    problems: [],
  };

  const answers = new Map<string, AnswerEntry>();

  // ---- the cluster ----
  await expectOk(runCli(['domain', 'add', 'torture.example'], options.databaseUrl));
  await expectOk(runCli(['user', 'add', 'admin@torture.example', '--name', 'Admin', '--role', 'global_admin'], options.databaseUrl, { stdin: `${PASSWORD}\n` }));
  const ports = await Promise.all(Array.from({ length: options.nodes }, () => freePort()));
  const nodes: Array<NodeProcess | undefined> = await Promise.all(ports.map((port, i) => startNode(`node-${i}`, options.databaseUrl, { DMCI_PORT: String(port) })));
  const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
  log(`${options.nodes} nodes up on ${ports.join(', ')}`);

  const admin = new DmciClient({ url: urls[0]!, login: 'admin@torture.example', password: PASSWORD });
  await admin.connect();
  const emails = Array.from({ length: options.connectors }, (_, i) => `user${i}@torture.example`);
  for (const email of emails) await admin.request('Admin/accountCreate', { email, displayName: email, password: PASSWORD });
  await admin.close();

  // ---- the connectors ----
  const connectors = await Promise.all(
    emails.map(async (email, i) => {
      const client = new DmciClient({
        url: urls[i % urls.length]!,
        fallbackUrls: urls.filter((_, j) => j !== i % urls.length),
        login: email,
        password: PASSWORD,
        reconnect: true,
        reconnectMinDelayMs: 50,
        reconnectMaxDelayMs: 1000,
        requestTimeoutMs: 5000,
      });
      client.on('reconnecting', () => report.reconnects++);
      await client.connect();
      return { email, client, random: new Random(options.seed * 1000 + i), replica: undefined as Replica | undefined, sources: [] as ScopeSource<unknown>[] };
    }),
  );
  const owner = connectors[0]!;
  const team = await owner.client.request('Calendar/set', {
    create: { team: { name: 'Team' } },
  });
  const teamCalendar = team.created.team!;
  await owner.client.request('Calendar/set', {
    update: { [teamCalendar.id]: { shareWith: Object.fromEntries(emails.slice(1).map((e) => [e, 'write' as const])) } },
  });

  const lastState = new Map<string, number>();
  for (const connector of connectors) {
    const calendars = (await connector.client.request('Calendar/get', {})).list;
    const own = calendars.find((c) => c.isDefault && c.owner.email === connector.email)!;
    const shared = calendars.find((c) => c.id === teamCalendar.id)!;
    connector.replica = new Replica(connector.client, {
      onApplied: (scope, page) => {
        const key = `${connector.email} ${scope}`;
        const modseq = decodeCursor(page.newState).modseq;
        if (modseq < (lastState.get(key) ?? 0)) {
          report.modseqRegressions++;
          report.problems.push(`${key}: state went from ${lastState.get(key)} to ${modseq}`);
        }
        lastState.set(key, modseq);
      },
    });
    connector.sources = [calendarEventsSource(own), calendarEventsSource(shared)] as ScopeSource<unknown>[];
    for (const source of connector.sources) await connector.replica.track(source);
    (connector as { calendars?: Calendar[] }).calendars = [own, shared];
  }
  log(`${connectors.length} connectors synced`);

  // ---- load and faults ----
  const acked = new Map<string, Acked>();
  const deadline = Date.now() + options.durationMs;
  let stopFaults = false;
  const faults = (async () => {
    if (options.faultEveryMs <= 0) return;
    while (!stopFaults) {
      await sleep(options.faultEveryMs / 2 + random.int(options.faultEveryMs));
      if (stopFaults) break;
      if (random.bool()) {
        const i = random.int(nodes.length);
        const node = nodes[i];
        if (!node) continue;
        nodes[i] = undefined;
        await node.kill('SIGKILL');
        report.faults.nodeKills++;
        log(`fault: SIGKILL ${node.name}`);
        await sleep(300 + random.int(1200));
        nodes[i] = await startNode(node.name, options.databaseUrl, { DMCI_PORT: String(ports[i]) });
        log(`fault: ${node.name} restarted`);
      } else {
        const db = openTestDb(options.databaseUrl);
        const killed = await sql<{ n: number }>`select count(pg_terminate_backend(pid))::int as n from pg_stat_activity where application_name like 'dmci:%'`.execute(db);
        await db.destroy();
        report.faults.connectionKills++;
        log(`fault: terminated ${killed.rows[0]?.n ?? 0} PostgreSQL connections of the cluster`);
      }
    }
  })();

  await Promise.all(
    connectors.map(async (connector, index) => {
      const calendars = (connector as { calendars?: Calendar[] }).calendars!;
      let sequence = 0;
      while (Date.now() < deadline) {
        const calendar = calendars[connector.random.int(2)]!;
        const present = Object.values(connector.replica!.objectsOf<CalendarEvent>(calendar.scope));
        const roll = connector.random.int(10);
        report.ops++;
        try {
          if (roll < 5 || present.length === 0) {
            const uid = `t-${index}-${sequence++}@torture`;
            const key = `k-${uid}`;
            // Scheduling: one create in three on the connector's own calendar invites another connector.
            const invitee = calendar === calendars[0] && connector.random.int(3) === 0 ? emails[(index + 1 + connector.random.int(emails.length - 1)) % emails.length] : undefined;
            const text = ics(uid, `created by ${connector.email}`, sequence, invitee ? { organizer: connector.email, attendee: invitee } : undefined);
            const result = await retrying(connector.client, deadline, () => connector.client.request('CalendarEvent/set', { calendarId: calendar.id, create: { c: { ics: text, idempotencyKey: key } } }));
            if (result === undefined) report.unacknowledged++;
            else if (result.created.c) {
              acked.set(result.created.c.id, { calendarId: calendar.id, uid, version: result.created.c.version, destroyed: false });
              report.acknowledged.creates++;
            } else report.problems.push(`create refused: ${JSON.stringify(result.notCreated.c)}`);
          } else {
            const target = present[connector.random.int(present.length)]!;
            const invitation = schedulingOf(target.ics);
            if (invitation && invitation.organizer !== connector.email && roll < 8) {
              // An invitation in this connector's calendar: answer it (a refusal as stale is fine: the organizer moved it meanwhile).
              const partstat = (['ACCEPTED', 'DECLINED', 'TENTATIVE'] as const)[connector.random.int(3)]!;
              // The answer names the SEQUENCE it answers, so an acknowledgement says which version of the meeting it landed on.
              const answered = sequenceOf(target.ics);
              const result = await retrying(connector.client, deadline, () => connector.client.request('CalendarEvent/set', { calendarId: calendar.id, reply: { [target.id]: { partstat, sequence: answered } } }));
              const entry = answers.get(target.id);
              if (result === undefined) {
                report.unacknowledged++;
                if (entry?.sequence === answered) entry.allowed?.add(partstat);
                else answers.set(target.id, { sequence: answered, attendee: invitation.attendee, allowed: null });
              } else if (result.replied?.[target.id]) answers.set(target.id, { sequence: answered, attendee: invitation.attendee, allowed: new Set([partstat]) });
              else if (result.notReplied?.[target.id] && !['STALE_ANSWER', 'NOT_FOUND'].includes(result.notReplied[target.id]!.code)) report.problems.push(`answer refused: ${JSON.stringify(result.notReplied[target.id])}`);
            } else if (roll < 8) {
              // An organizer's update keeps its attendee (a move: significant) or drops it (a cancel), half and half.
              const keep = invitation && connector.random.bool() ? invitation : undefined;
              const result = await retrying(connector.client, deadline, () =>
                connector.client.request('CalendarEvent/set', { calendarId: calendar.id, update: { [target.id]: { ics: ics(target.uid, `updated by ${connector.email}`, sequence++, keep) } } }),
              );
              if (result === undefined) report.unacknowledged++;
              else if (result.updated[target.id]) {
                const entry = acked.get(target.id);
                if (entry) entry.version = Math.max(entry.version, result.updated[target.id]!.version);
                report.acknowledged.updates++;
              }
            } else {
              const result = await retrying(connector.client, deadline, () => connector.client.request('CalendarEvent/set', { calendarId: calendar.id, destroy: [target.id] }));
              if (result === undefined) report.unacknowledged++;
              else if (result.destroyed.includes(target.id)) {
                const entry = acked.get(target.id);
                if (entry) entry.destroyed = true;
                report.acknowledged.destroys++;
              }
            }
          }
        } catch (error) {
          report.problems.push(`${connector.email}: ${(error as Error).message}`);
        }
      }
    }),
  );
  stopFaults = true;
  await faults;
  log(`load done: ${report.ops} ops; quiescing`);

  // ---- quiesce ----
  for (let i = 0; i < nodes.length; i++) nodes[i] ??= await startNode(`node-${i}`, options.databaseUrl, { DMCI_PORT: String(ports[i]) });
  for (const connector of connectors) await waitUntil(() => connector.client.connected, 20_000);
  for (const connector of connectors) {
    for (const source of connector.sources) await connector.replica!.catchUp(source.scope);
    await connector.replica!.settled();
    report.pushesApplied += connector.replica!.counters.pushesApplied;
  }

  // ---- checks ----
  for (const connector of connectors) {
    const divergences = await verifyReplica(connector.client, connector.replica!, connector.sources);
    report.diverged += divergences.length;
    for (const d of divergences) report.problems.push(`${connector.email} ${d.scope}: missing ${d.missing.length}, extra ${d.extra.length}, different ${d.different.length}`);
  }
  const db = openTestDb(options.databaseUrl);
  try {
    const rows = await db.selectFrom('calendar_events').select(['id', 'uid', 'calendar_id', 'version', 'deleted']).where('uid', 'like', 't-%@torture').execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const [id, entry] of acked) {
      const row = byId.get(id);
      if (entry.destroyed) continue;
      if (!row || row.deleted) {
        // Someone else's acknowledged destroy may have taken it: only a row with no tombstone is a loss.
        if (!row) {
          report.lost++;
          report.problems.push(`acknowledged event ${id} (${entry.uid}) is gone without a tombstone`);
        }
        continue;
      }
      if (row.version < entry.version) {
        report.lost++;
        report.problems.push(`event ${id} is at version ${row.version}, below the acknowledged ${entry.version}`);
      }
    }
    const live = new Map<string, number>();
    for (const row of rows) if (!row.deleted) live.set(`${row.calendar_id} ${row.uid}`, (live.get(`${row.calendar_id} ${row.uid}`) ?? 0) + 1);
    for (const [key, count] of live) {
      if (count > 1) {
        report.duplicates += count - 1;
        report.problems.push(`UID stored ${count} times: ${key}`);
      }
    }
    // Scheduling: every live copy belongs to a live organizer event at the same SEQUENCE; a destroyed one left no copy.
    const copies = await sql<{ copy: string; copy_ics: string; organizer_ics: string | null; organizer_deleted: boolean }>`
      select c.id as copy, c.ics as copy_ics, o.ics as organizer_ics, o.deleted as organizer_deleted
        from scheduled_copies s join calendar_events c on c.id = s.event_id join calendar_events o on o.id = s.organizer_event_id
       where not c.deleted`.execute(db);
    for (const row of copies.rows) {
      const seq = (text: string | null) => /SEQUENCE:(\d+)/.exec(text ?? '')?.[1];
      if (row.organizer_deleted || seq(row.copy_ics) !== seq(row.organizer_ics)) {
        report.diverged++;
        report.problems.push(`copy ${row.copy} does not follow its organizer's event (organizer ${row.organizer_deleted ? 'destroyed' : `at SEQUENCE ${seq(row.organizer_ics)}`}, copy at ${seq(row.copy_ics)})`);
      }
    }
    report.scheduledCopies = copies.rows.length;
    // Acknowledged answers: while the meeting is at the SEQUENCE answered, both copies hold the last acknowledged PARTSTAT.
    const answered = await sql<{ copy: string; copy_ics: string; organizer_ics: string }>`
      select c.id as copy, c.ics as copy_ics, o.ics as organizer_ics
        from scheduled_copies s join calendar_events c on c.id = s.event_id join calendar_events o on o.id = s.organizer_event_id
       where not c.deleted and not o.deleted and c.id = any(${[...answers.keys()]}::uuid[])`.execute(db);
    for (const row of answered.rows) {
      const entry = answers.get(row.copy)!;
      if (entry.allowed === null || sequenceOf(row.organizer_ics) !== entry.sequence || sequenceOf(row.copy_ics) !== entry.sequence) continue;
      report.answersChecked++;
      for (const [whose, text] of [['organizer', row.organizer_ics], ['attendee', row.copy_ics]] as const) {
        const partstat = partstatIn(text, entry.attendee);
        if (partstat !== undefined && entry.allowed.has(partstat)) continue;
        report.lost++;
        report.problems.push(`the ${whose}'s copy of ${row.copy} shows ${entry.attendee} ${partstat}, not the acknowledged ${[...entry.allowed].join(' or ')}`);
      }
    }
    const createdUids = new Set(rows.map((r) => r.uid));
    const ackedUids = new Set([...acked.values()].map((a) => a.uid));
    for (const uid of ackedUids) if (!createdUids.has(uid)) report.problems.push(`acknowledged UID ${uid} never stored`);
  } finally {
    await db.destroy();
    await Promise.all(connectors.map((c) => c.client.close()));
    await Promise.all(nodes.map((n) => n?.kill('SIGTERM')));
  }
  return report;
}

/**
 * Retries a request through disconnects until it is acknowledged or the run
 * is over. Creates carry an idempotency key, so a retry whose first attempt
 * did commit returns the first result instead of creating again.
 */
async function retrying<T>(client: DmciClient, deadline: number, request: () => Promise<T>): Promise<T | undefined> {
  const giveUpAt = deadline + 15_000;
  for (;;) {
    try {
      return await request();
    } catch (error) {
      const transient = error instanceof DmciConnectionError || (error instanceof DmciRequestError && ['UNAVAILABLE', 'TIMEOUT', 'INTERNAL'].includes(error.code));
      if (!transient || Date.now() > giveUpAt) {
        if (transient) return undefined;
        throw error;
      }
      await waitUntil(() => client.connected, Math.max(0, giveUpAt - Date.now())).catch(() => {});
      await sleep(20);
    }
  }
}

function ics(uid: string, summary: string, n: number, meeting?: { organizer: string; attendee: string }): string {
  const day = String(1 + (n % 28)).padStart(2, '0');
  const people = meeting ? [`ORGANIZER:mailto:${meeting.organizer}`, `ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:${meeting.attendee}`] : [];
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci torture//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', `DTSTART:202612${day}T090000Z`, `DTEND:202612${day}T100000Z`, `SUMMARY:${summary} #${n}`, ...people, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

function sequenceOf(text: string): number {
  return Number(/^SEQUENCE:(\d+)/m.exec(text)?.[1] ?? 0);
}

/** The PARTSTAT of `address` on its ATTENDEE line in the first component (the series). */
function partstatIn(text: string, address: string): string | undefined {
  const unfolded = text.replace(/\r\n[ \t]/g, '');
  const first = unfolded.split('BEGIN:VEVENT')[1] ?? '';
  const line = first.split('\r\n').find((l) => l.startsWith('ATTENDEE') && l.toLowerCase().endsWith(`mailto:${address}`));
  return line ? /PARTSTAT=([A-Z-]+)/.exec(line)?.[1] : undefined;
}

/** The organizer and (first) attendee of a meeting's text, or undefined for a plain event. */
function schedulingOf(text: string): { organizer: string; attendee: string } | undefined {
  const unfolded = text.replace(/\r\n[ \t]/g, '');
  const organizer = /^ORGANIZER[^:\r\n]*:mailto:([^\r\n]+)$/im.exec(unfolded)?.[1];
  const attendee = /^ATTENDEE[^:\r\n]*:mailto:([^\r\n]+)$/im.exec(unfolded)?.[1];
  return organizer && attendee ? { organizer: organizer.toLowerCase(), attendee: attendee.toLowerCase() } : undefined;
}

async function expectOk(run: Promise<{ code: number; stderr: string }>): Promise<void> {
  const result = await run;
  if (result.code !== 0) throw new Error(`dmci CLI failed: ${result.stderr}`);
}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await sleep(25);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
