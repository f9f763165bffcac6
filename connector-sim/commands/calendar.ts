import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { CalendarEvent } from '../../protocol/index.ts';
import { calendarEventsSource, listCalendars, resolveCalendar } from '../calendar-sources.ts';
import { DmciRequestError, type DmciClient } from '../client.ts';
import { Replica, verifyReplica } from '../replica.ts';
import { UsageError, type CommandFamily, type SimContext } from './context.ts';

/**
 * Calendar commands: `event put`, `event list`, `sync [--watch]`, `verify`.
 * `--calendar` defaults to the account's default calendar.
 */
export const calendarCommands: CommandFamily = (program: Command, ctx) => {
  const event = program.command('event').description('calendar events');

  event
    .command('put')
    .description('store an iCalendar object (creates it, or replaces the event with the same UID)')
    .requiredOption('--ics <file>', 'an .ics file holding one event (master, overrides, VTIMEZONEs)')
    .option('--calendar <id>', 'calendar id (default: your default calendar)')
    .action((options: { ics: string; calendar?: string }) =>
      withClient(ctx, async (client) => {
        const ics = await readFile(options.ics, 'utf8').catch((error: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${options.ics}: ${error.code ?? error.message}`);
        });
        const calendar = await resolveCalendar(client, options.calendar);
        const result = await putEvent(client, calendar.id, ics);
        ctx.print({ calendarId: calendar.id, ...result }, `${result.action} event ${result.id} (UID ${result.uid}, version ${result.version}) in ${calendar.name}`);
      }),
    );

  event
    .command('list')
    .description('expanded instances between two instants, each with UID, recurrence id and UTC start and end')
    .requiredOption('--from <iso>', 'start of the range, e.g. 2026-10-01T00:00:00Z')
    .requiredOption('--to <iso>', 'end of the range (exclusive)')
    .option('--calendar <id>', 'calendar id (default: your default calendar)')
    .option('--time-zone <tz>', 'IANA zone for all-day and floating events', 'UTC')
    .action((options: { from: string; to: string; calendar?: string; timeZone: string }) =>
      withClient(ctx, async (client) => {
        for (const value of [options.from, options.to]) if (Number.isNaN(Date.parse(value))) throw new UsageError(`not an ISO date-time: ${value}`);
        const calendar = await resolveCalendar(client, options.calendar);
        const instances = [];
        for (let position = 0; ; ) {
          const page = await client.request('CalendarEvent/query', {
            calendarIds: [calendar.id],
            from: new Date(options.from).toISOString(),
            to: new Date(options.to).toISOString(),
            timeZone: options.timeZone,
            position,
            limit: 1000,
          });
          instances.push(...page.instances);
          if (!page.hasMore) break;
          position += page.instances.length;
        }
        ctx.print(
          instances,
          instances.map((i) => `${i.start}  ${i.end}  ${i.uid}  ${i.recurrenceId}  ${i.busyType}${i.summary ? `  ${i.summary}` : ''}`).join('\n') || '(no instances)',
        );
      }),
    );

  program
    .command('sync')
    .description('replicate your calendars (all, or --calendar) and print what changed (NDJSON with --json); --watch keeps following pushes')
    .option('--calendar <id...>', 'only these calendars')
    .option('--replica <file>', 'keep the replica in this JSON file (resumes from it)')
    .option('--watch', 'keep running and apply pushes as they come (Ctrl-C to stop)')
    .option('--window <past,future>', 'only events touching [now − past days, now + future days]')
    .action((options: { calendar?: string[]; replica?: string; watch?: boolean; window?: string }) =>
      withClient(ctx, async (client) => {
        const window = options.window ? parseWindow(options.window) : undefined;
        const replica = new Replica(client, {
          onApplied: (scope, page) => {
            if (!ctx.globals().json) process.stdout.write(`${scope}: +${page.created} ~${page.updated} -${page.destroyed} → state ${page.newState} (${page.via})\n`);
            else process.stdout.write(JSON.stringify({ scope, ...page }) + '\n');
            if (options.replica) replica.save(options.replica).catch((error: unknown) => process.stderr.write(`cannot save the replica: ${(error as Error).message}\n`));
          },
          onError: (scope, error) => process.stderr.write(`${scope}: ${(error as Error).message}\n`),
        });
        if (options.replica) await replica.load(options.replica);
        const calendars = (await listCalendars(client)).filter((c) => !options.calendar || options.calendar.includes(c.id));
        for (const calendar of calendars) await replica.track(calendarEventsSource(calendar, window ? { window } : {}));
        if (options.replica) await replica.save(options.replica);
        const total = calendars.reduce((n, c) => n + Object.keys(replica.objectsOf(c.scope)).length, 0);
        if (!options.watch) {
          // With --json the whole output is NDJSON: one line per applied page, then this summary.
          const summary = { calendars: calendars.length, events: total, counters: replica.counters };
          process.stdout.write(ctx.globals().json ? JSON.stringify(summary) + '\n' : `${calendars.length} calendars, ${total} events in the replica\n`);
          return;
        }
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        if (options.replica) await replica.save(options.replica);
      }, { reconnect: true }),
    );

  program
    .command('verify')
    .description("bring the replica up to date with /changes, then compare it with the server's full state (exit 1 if they differ)")
    .option('--replica <file>', 'the replica file written by `sync --replica`')
    .action((options: { replica?: string }) =>
      withClient(ctx, async (client) => {
        const replica = new Replica(client);
        if (options.replica && !(await replica.load(options.replica))) throw new UsageError(`no replica file ${options.replica}`);
        const sources = (await listCalendars(client)).map((c) => calendarEventsSource(c));
        for (const source of sources) await replica.track(source);
        const divergences = await verifyReplica(client, replica, sources);
        if (divergences.length > 0) ctx.setExitCode(1);
        ctx.print(
          { equal: divergences.length === 0, scopes: sources.length, divergences },
          divergences.length === 0
            ? `replica equals the server: ${sources.length} calendars`
            : divergences.map((d) => `${d.scope}: missing ${d.missing.length}, extra ${d.extra.length}, different ${d.different.length}`).join('\n'),
        );
      }),
    );
};

export async function withClient(ctx: SimContext, task: (client: DmciClient) => Promise<void>, options: { reconnect?: boolean } = {}): Promise<void> {
  const client = await ctx.connect(options);
  try {
    await task(client);
  } finally {
    await client.close();
  }
}

/** Creates the event, or replaces the one with the same UID; retried creates use one idempotency key. */
export async function putEvent(client: DmciClient, calendarId: string, ics: string) {
  const idempotencyKey = `sim-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  const created = await client.request('CalendarEvent/set', { calendarId, create: { new: { ics, idempotencyKey } } });
  const ok = created.created.new;
  if (ok) return { action: 'created' as const, id: ok.id, uid: ok.uid, version: ok.version };
  const error = created.notCreated.new!;
  if (error.code !== 'ALREADY_EXISTS') throw new DmciRequestError(error);
  const existingId = (error.details as { existingId?: string } | undefined)?.existingId ?? (await findByUid(client, calendarId, ics));
  const updated = await client.request('CalendarEvent/set', { calendarId, update: { [existingId]: { ics } } });
  const result = updated.updated[existingId];
  if (!result) throw new DmciRequestError(updated.notUpdated[existingId]!);
  return { action: 'replaced' as const, id: existingId, uid: uidOf(ics), version: result.version };
}

async function findByUid(client: DmciClient, calendarId: string, ics: string): Promise<string> {
  const uid = uidOf(ics);
  let sinceState: string | undefined;
  for (;;) {
    const page = await client.request('CalendarEvent/changes', { calendarId, maxChanges: 5000, ...(sinceState ? { sinceState } : {}) });
    const match = [...page.created, ...page.updated].find((e: CalendarEvent) => e.uid === uid);
    if (match) return match.id;
    if (!page.hasMoreChanges) throw new Error(`the server says UID ${uid} exists but it is not in the calendar`);
    sinceState = page.newState;
  }
}

function uidOf(ics: string): string {
  return /^UID:(.*)$/m.exec(ics.replace(/\r?\n[ \t]/g, ''))?.[1]?.trim() ?? '';
}

function parseWindow(text: string) {
  const match = /^(\d+),(\d+)$/.exec(text);
  if (!match) throw new UsageError('--window takes PAST,FUTURE in days, e.g. 30,365');
  return { pastDays: Number(match[1]), futureDays: Number(match[2]) };
}
