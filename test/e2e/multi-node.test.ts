import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calendarEventsSource, resolveCalendar } from '../../connector-sim/calendar-sources.ts';
import { DmciClient } from '../../connector-sim/client.ts';
import { Replica, verifyReplica } from '../../connector-sim/replica.ts';
import type { Calendar } from '../../protocol/index.ts';
import { runCli, startNode, type NodeProcess } from '../helpers/cluster.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';

/**
 * Three dmci processes on one PostgreSQL, as DESIGN §8 runs them: a change
 * written through node A reaches a session on node C, and a session whose
 * node is SIGKILLed reconnects to another node and resumes with nothing lost.
 */
const PASSWORD = 'multi node password';
let databaseUrl: string;
const nodes: NodeProcess[] = [];
const clients: DmciClient[] = [];

function event(uid: string, summary: string, day: number): string {
  const date = `202612${String(day).padStart(2, '0')}`;
  return ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//dmci tests//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', `DTSTART:${date}T100000Z`, `DTEND:${date}T110000Z`, `SUMMARY:${summary}`, 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');
}

async function connect(url: string, fallbackUrls: string[] = []): Promise<DmciClient> {
  const client = new DmciClient({ url, fallbackUrls, login: 'alice@example.com', password: PASSWORD, reconnect: true, reconnectMinDelayMs: 50, reconnectMaxDelayMs: 500, requestTimeoutMs: 10_000 });
  clients.push(client);
  await client.connect();
  return client;
}

beforeAll(async () => {
  databaseUrl = await createTestDatabase();
  expect((await runCli(['domain', 'add', 'example.com'], databaseUrl)).code).toBe(0);
  expect((await runCli(['user', 'add', 'admin@example.com', '--name', 'Admin', '--role', 'global_admin'], databaseUrl, { stdin: `${PASSWORD}\n` })).code).toBe(0);
  nodes.push(...(await Promise.all(['node-a', 'node-b', 'node-c'].map((name) => startNode(name, databaseUrl)))));
  const admin = new DmciClient({ url: nodes[0]!.url, login: 'admin@example.com', password: PASSWORD });
  await admin.connect();
  await admin.request('Admin/accountCreate', { email: 'alice@example.com', displayName: 'Alice', password: PASSWORD });
  await admin.close();
}, 120_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  await dropTestDatabase(databaseUrl);
});

describe('several nodes on one PostgreSQL', () => {
  it('pushes a change written through node A to a session on node C', async () => {
    const [a, , c] = nodes;
    const writer = await connect(a!.url);
    const reader = await connect(c!.url);
    expect((await reader.request('Session/get', {})).node).toBe('node-c');
    const calendar = await resolveCalendar(reader, undefined);
    const replica = new Replica(reader);
    await replica.track(calendarEventsSource(calendar));
    const before = replica.counters.pushesApplied;

    const result = await writer.request('CalendarEvent/set', { calendarId: calendar.id, create: { e1: { ics: event('cross-node-1@test', 'written on A', 1) } } });
    const id = result.created.e1!.id;
    await expect.poll(() => replica.objectsOf(calendar.scope)[id], { timeout: 10_000 }).toBeDefined();
    expect(replica.counters.pushesApplied).toBeGreaterThan(before);
    expect(replica.stateOf(calendar.scope)).toBe(result.newState);
    replica.detach();
  });

  it('resumes on another node after its node is SIGKILLed, and loses nothing', async () => {
    const [a, b, c] = nodes;
    const writer = await connect(a!.url);
    const reader = await connect(c!.url, [b!.url]);
    const calendar: Calendar = await resolveCalendar(reader, undefined);
    const replica = new Replica(reader);
    await replica.track(calendarEventsSource(calendar));
    const welcomes: string[] = [];
    reader.on('welcome', (w) => welcomes.push(w.sessionId));

    expect(await c!.kill('SIGKILL')).toBe('SIGKILL');
    // Writes land while the reader has no session at all.
    const written: string[] = [];
    for (let i = 0; i < 10; i++) {
      const r = await writer.request('CalendarEvent/set', { calendarId: calendar.id, create: { [`k${i}`]: { ics: event(`after-kill-${i}@test`, `while C was dead ${i}`, 2 + i) } } });
      written.push(r.created[`k${i}`]!.id);
    }
    await expect.poll(() => welcomes.length, { timeout: 15_000 }).toBeGreaterThan(0);
    expect((await reader.request('Session/get', {})).node).toBe('node-b');
    await expect.poll(() => written.every((id) => replica.objectsOf(calendar.scope)[id] !== undefined), { timeout: 10_000 }).toBe(true);
    await replica.settled();
    expect(await verifyReplica(reader, replica, [calendarEventsSource(calendar)])).toEqual([]);
    replica.detach();
  });
});
