import { spawn } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCalendar } from '../../connector-sim/calendar-sources.ts';
import type { DmciClient } from '../../connector-sim/client.ts';
import { binScript, cleanEnv, REPO_ROOT, runBin } from '../helpers/run.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/** dmci-sim's calendar commands, run as processes against a real server: event put/list, sync (--watch), verify. */
const SAMPLE = join(REPO_ROOT, 'test/fixtures/samples/outlook-weekly-exception.ics');
let server: TestServer;
let env: Record<string, string>;
let dir: string;
let writer: DmciClient;

const simpleEvent = (uid: string) =>
  ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//t//EN', 'BEGIN:VEVENT', `UID:${uid}`, 'DTSTAMP:20261101T000000Z', 'DTSTART:20261215T090000Z', 'DTEND:20261215T100000Z', 'SUMMARY:from the API', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n');

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('sim@example.com');
  env = { DMCI_URL: server.url, DMCI_USER: 'sim@example.com', DMCI_PASSWORD: DEFAULT_PASSWORD };
  dir = await mkdtemp(join(tmpdir(), 'dmci-sim-cal-'));
  writer = await server.connect('sim@example.com');
});
afterAll(() => server.stop());

describe('dmci-sim calendar commands', { timeout: 120_000 }, () => {
  it('event put stores an Outlook object, a second put replaces it, and event list shows its instances in UTC', async () => {
    const created = await runBin('dmci-sim', ['event', 'put', '--ics', SAMPLE], { env });
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^created event .* \(UID 040000008200E00074C5B7101A82E008/);
    const replaced = await runBin('dmci-sim', ['--json', 'event', 'put', '--ics', SAMPLE], { env });
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ action: 'replaced', version: 2 });

    const listed = await runBin('dmci-sim', ['--json', 'event', 'list', '--from', '2026-10-01T00:00:00Z', '--to', '2027-01-01T00:00:00Z'], { env });
    expect(listed.code, listed.stderr).toBe(0);
    const instances = JSON.parse(listed.stdout) as Array<{ start: string; end: string; recurrenceId: string; uid: string }>;
    expect(instances.map((i) => i.start)).toEqual([
      '2026-10-19T13:30:00.000Z',
      '2026-10-26T13:30:00.000Z',
      '2026-11-03T16:00:00.000Z',
      '2026-11-16T14:30:00.000Z',
      '2026-11-23T14:30:00.000Z',
      '2026-11-30T14:30:00.000Z',
      '2026-12-07T14:30:00.000Z',
    ]);
    expect(instances[2]).toMatchObject({ end: '2026-11-03T16:30:00.000Z' });
    expect(instances[2]!.recurrenceId).toMatch(/^20261102T143000Z$/);
  });

  it('refuses bad input with a clear message: a missing file, a bad date (exit 2), an invalid object (exit 1)', async () => {
    const broken = join(dir, 'broken.ics');
    await writeFile(broken, 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:no uid\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n');
    const [missing, badDate, invalid] = await Promise.all([
      runBin('dmci-sim', ['event', 'put', '--ics', join(dir, 'nope.ics')], { env }),
      runBin('dmci-sim', ['event', 'list', '--from', 'yesterday', '--to', '2027-01-01T00:00:00Z'], { env }),
      runBin('dmci-sim', ['event', 'put', '--ics', broken], { env }),
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read');
    expect(badDate.code).toBe(2);
    expect(badDate.stderr).toContain('not an ISO date-time: yesterday');
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain('INVALID_ICALENDAR');
  });

  it('sync writes a replica file that verify later brings up to date and finds equal to the server', async () => {
    const replica = join(dir, 'replica.json');
    const synced = await runBin('dmci-sim', ['--json', 'sync', '--replica', replica], { env });
    expect(synced.code, synced.stderr).toBe(0);
    expect(JSON.parse(synced.stdout.trim().split('\n').at(-1)!)).toMatchObject({ calendars: 1, events: 1 });
    const saved = JSON.parse(await readFile(replica, 'utf8')) as Record<string, { state: string; objects: Record<string, unknown> }>;
    expect(Object.values(saved)[0]!.state).toMatch(/^\d+$/);

    const calendar = await resolveCalendar(writer, undefined);
    await writer.request('CalendarEvent/set', { calendarId: calendar.id, create: { n: { ics: simpleEvent('after-sync@test') } } });
    const verified = await runBin('dmci-sim', ['--json', 'verify', '--replica', replica], { env });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toEqual({ equal: true, scopes: 1, divergences: [] });
  });

  it('sync --watch applies a push as it comes and stops cleanly on SIGTERM', async () => {
    const child = spawn(process.execPath, [binScript('dmci-sim'), 'sync', '--watch'], { cwd: REPO_ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await expect.poll(() => output, { timeout: 30_000 }).toMatch(/\(changes\)/);
    const calendar = await resolveCalendar(writer, undefined);
    await writer.request('CalendarEvent/set', { calendarId: calendar.id, create: { w: { ics: simpleEvent('while-watching@test') } } });
    await expect.poll(() => output, { timeout: 15_000 }).toMatch(/\+1 ~0 -0 → state \d+ \(push\)/);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
