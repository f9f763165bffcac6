import { InvalidArgumentError, Option, type Command } from 'commander';
import { BookingPolicy, EmailAddress } from '../../protocol/index.ts';
import { systemActor } from '../accounts/actor.ts';
import { withServices, type CommandContext } from './cli-context.ts';


const yesNo = (value: string): boolean => {
  if (value === 'yes' || value === 'true') return true;
  if (value === 'no' || value === 'false') return false;
  throw new InvalidArgumentError('give yes or no');
};
const whole = (value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
};

/** Bad input is a usage error (exit 2) with the schema's own message. */
function valid<T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string; path: PropertyKey[] }> } } }, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new InvalidArgumentError(`not a valid ${what}${issue ? `: ${issue.path.join('.')} ${issue.message}` : ''}`);
}

interface PolicyOptions {
  mode?: 'auto' | 'approval' | 'decline';
  declineConflicts?: boolean;
  bookers?: string;
  maxDuration?: number;
  windowDays?: number;
  recurring?: boolean;
  conflictDetails?: boolean;
  approvers?: string;
  declineOccurrences?: boolean;
  unboundedSeries?: boolean;
}

/**
 * `dmci resource show EMAIL` and `dmci resource policy EMAIL [options]`: a
 * GAL resource's calendar and booking policy (the same service as
 * Admin/resourceGet and Admin/resourceSetPolicy; docs/operations.md §Rooms).
 */
export function registerResourceCommands(program: Command, { run, cliLog, out }: CommandContext): void {
  const resource = program.command('resource').description("show and change GAL resources' booking policies");
  resource
    .command('show <email>')
    .description("a resource's calendar and booking policy")
    .action((email: string) =>
      run(async (config, json) => {
        const info = await withServices(config, cliLog(), ({ resources }) => resources.get(systemActor, valid(EmailAddress, email, 'address')));
        out.write(json ? `${JSON.stringify(info, null, 2)}\n` : describe(info));
      })(),
    );
  resource
    .command('policy <email>')
    .description('change a booking policy (options omitted keep their value)')
    .addOption(new Option('--mode <mode>', 'auto: accept when free; approval: answer tentative; decline: decline all').choices(['auto', 'approval', 'decline']))
    .option('--decline-conflicts <yes|no>', 'decline a conflicting request (no: answer it tentative, unbooked)', yesNo)
    .option('--bookers <addresses>', 'comma-separated people or groups who may book; "" = everyone of the domain')
    .option('--max-duration <minutes>', 'longest meeting accepted', whole)
    .option('--window-days <days>', 'how far ahead every occurrence must end (at most 3650)', whole)
    .option('--recurring <yes|no>', 'accept recurring meetings', yesNo)
    .option('--conflict-details <yes|no>', 'name organizer and subject of a conflicting public booking', yesNo)
    .option('--approvers <addresses>', 'comma-separated people who accept or decline held requests (approval mode); "" = none')
    .option('--decline-occurrences <yes|no>', 'a series conflicting in some occurrences: yes = accept it and decline those; no = decline the series', yesNo)
    .option('--unbounded-series <yes|no>', 'a series without an end: yes = book every occurrence; no = decline it', yesNo)
    .action((email: string, options: PolicyOptions) =>
      run(async (config, json) => {
        const policy = valid(BookingPolicy.partial(), {
          mode: options.mode,
          declineConflicts: options.declineConflicts,
          allowedBookers: options.bookers === undefined ? undefined : options.bookers.split(',').map((s) => s.trim()).filter(Boolean),
          maxDurationMinutes: options.maxDuration,
          bookingWindowDays: options.windowDays,
          allowRecurring: options.recurring,
          conflictDetails: options.conflictDetails,
          approvers: options.approvers === undefined ? undefined : options.approvers.split(',').map((s) => s.trim()).filter(Boolean),
          declineConflictingOccurrences: options.declineOccurrences,
          unboundedSeries: options.unboundedSeries,
        }, 'policy');
        const info = await withServices(config, cliLog(), ({ resources }) => resources.setPolicy(systemActor, valid(EmailAddress, email, 'address'), policy));
        out.write(json ? `${JSON.stringify(info, null, 2)}\n` : describe(info));
      })(),
    );
}

function describe(info: { email: string; displayName: string; calendarId: string; policy: BookingPolicy }): string {
  const p = info.policy;
  return [
    `${info.displayName} <${info.email}>  calendar ${info.calendarId}`,
    `  mode: ${p.mode}; conflicts: ${p.declineConflicts ? 'declined' : 'tentative, unbooked'}; conflict details: ${p.conflictDetails ? 'shown' : 'time only'}`,
    `  bookers: ${p.allowedBookers.length ? p.allowedBookers.join(', ') : 'everyone of the domain'}`,
    `  at most ${p.maxDurationMinutes} minutes, within ${p.bookingWindowDays} days; recurring ${p.allowRecurring ? 'allowed' : 'declined'}; a series with conflicts: ${p.declineConflictingOccurrences ? 'those occurrences declined' : 'declined whole'}; without an end: ${p.unboundedSeries ? 'booked' : 'declined'}`,
    `  approvers: ${p.approvers.length ? p.approvers.join(', ') : 'none'}`,
    '',
  ].join('\n');
}
