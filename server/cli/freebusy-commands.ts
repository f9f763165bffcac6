import { InvalidArgumentError, Option, type Command } from 'commander';
import { DomainName, EmailAddress, FreeBusyVisibility, OutOfOffice, WorkingHours, type FreeBusySettings } from '../../protocol/index.ts';
import { systemActor } from '../accounts/actor.ts';
import { withServices, type CommandContext } from './cli-context.ts';


/** Parses an option with a protocol schema; a bad value is a usage error (exit 2). */
const by =
  <T>(schema: { safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Array<{ message: string }> } } }) =>
  (value: string): T => {
    const result = schema.safeParse(value);
    if (!result.success) throw new InvalidArgumentError(result.error.issues[0]?.message ?? 'invalid');
    return result.data;
  };

function parseDays(text: string): number[] {
  const days = text.split(',').map((d) => Number(d.trim()));
  if (days.length === 0 || days.some((d) => !Number.isInteger(d) || d < 1 || d > 7)) throw new InvalidArgumentError('ISO weekdays 1 (Monday) to 7 (Sunday), comma-separated: 1,2,3,4,5');
  return days;
}

interface HoursOptions {
  days?: number[];
  start?: string;
  end?: string;
  zone?: string;
}

function hoursOptions(command: Command): Command {
  return command
    .option('--days <list>', 'working days, ISO weekdays comma-separated (1 = Monday)', parseDays)
    .option('--start <HH:MM>', 'start of the working day, local time')
    .option('--end <HH:MM>', 'end of the working day, local time (up to 24:00)')
    .option('--zone <iana>', 'IANA time zone of the working hours');
}

/** The hours the options give, the unnamed fields taken from `current`; undefined when no option was given. */
function mergedHours(options: HoursOptions, current: WorkingHours): WorkingHours | undefined {
  if (options.days === undefined && options.start === undefined && options.end === undefined && options.zone === undefined) return undefined;
  const merged = { days: options.days ?? current.days, start: options.start ?? current.start, end: options.end ?? current.end, timeZone: options.zone ?? current.timeZone };
  const checked = WorkingHours.safeParse(merged);
  if (!checked.success) throw new InvalidArgumentError(`working hours: ${checked.error.issues[0]?.message}`);
  return checked.data;
}

function describeSettings(s: FreeBusySettings): string {
  const h = s.workingHours;
  const oof = s.outOfOffice ? `out of office ${s.outOfOffice.from} – ${s.outOfOffice.until}` : 'not out of office';
  return `${s.email}: works days ${h.days.join(',')} ${h.start}–${h.end} ${h.timeZone}${s.workingHoursAreDefault ? ' (domain default)' : ''}; ${oof}`;
}

/**
 * Free/busy settings from the command line (docs/operations.md §Free/busy):
 * `dmci user hours|oof` for an account, `dmci domain freebusy` for a
 * domain's defaults. They go through FreeBusyService like the protocol's
 * FreeBusy/setSettings and FreeBusy/setDomainPolicy.
 */
export function registerFreeBusyCommands(program: Command, { run, cliLog, out }: CommandContext): void {
  const user = program.commands.find((c) => c.name() === 'user')!;
  const domain = program.commands.find((c) => c.name() === 'domain')!;

  hoursOptions(user.command('hours <email>').description("show an account's working hours; with options set them (unnamed fields keep their value), --default returns them to the domain's"))
    .option('--default', "use the domain's working hours")
    .action((email: string, options: HoursOptions & { default?: boolean }) =>
      run(async (config, json) => {
        const address = by(EmailAddress)(email);
        const settings = await withServices(config, cliLog(), async ({ freeBusy }) => {
          const current = await freeBusy.getSettings(systemActor, address);
          if (options.default) return freeBusy.setSettings(systemActor, { email: address, workingHours: null });
          const hours = mergedHours(options, current.workingHours);
          return hours ? freeBusy.setSettings(systemActor, { email: address, workingHours: hours }) : current;
        });
        out.print(json, settings, describeSettings(settings));
      })(),
    );

  user
    .command('oof <email>')
    .description("show an account's out-of-office period; --from and --until set it, --clear removes it")
    .option('--from <iso>', 'start (ISO 8601 with offset)')
    .option('--until <iso>', 'end (ISO 8601 with offset)')
    .option('--clear', 'no out-of-office period')
    .action((email: string, options: { from?: string; until?: string; clear?: boolean }) =>
      run(async (config, json) => {
        const address = by(EmailAddress)(email);
        if ((options.from === undefined) !== (options.until === undefined)) throw new InvalidArgumentError('give both --from and --until');
        const checked = options.from !== undefined ? OutOfOffice.safeParse({ from: options.from, until: options.until }) : undefined;
        if (checked && !checked.success) throw new InvalidArgumentError(`out of office: ${checked.error.issues[0]?.message}`);
        const period = checked?.data;
        const settings = await withServices(config, cliLog(), ({ freeBusy }) =>
          options.clear
            ? freeBusy.setSettings(systemActor, { email: address, outOfOffice: null })
            : period
              ? freeBusy.setSettings(systemActor, { email: address, outOfOffice: period })
              : freeBusy.getSettings(systemActor, address),
        );
        out.print(json, settings, describeSettings(settings));
      })(),
    );

  const visibility = (flag: string, what: string) => new Option(flag, what).choices(FreeBusyVisibility.options);
  hoursOptions(domain.command('freebusy <name>').description("show a domain's free/busy defaults; with options change them"))
    .addOption(visibility('--members <visibility>', 'what members see of each other without a grant (default time)'))
    .addOption(visibility('--other-domains <visibility>', 'at most what accounts of other domains see (default time)'))
    .addOption(visibility('--anonymous <visibility>', 'what the Internet free/busy door shows without a login (default none)'))
    .action((name: string, options: HoursOptions & { members?: FreeBusyVisibility; otherDomains?: FreeBusyVisibility; anonymous?: FreeBusyVisibility }) =>
      run(async (config, json) => {
        const domainName = by(DomainName)(name);
        const policy = await withServices(config, cliLog(), async ({ freeBusy }) => {
          const current = await freeBusy.getDomainPolicy(systemActor, domainName);
          const hours = mergedHours(options, current.workingHours);
          return freeBusy.setDomainPolicy(systemActor, {
            domain: domainName,
            ...(options.members ? { members: options.members } : {}),
            ...(options.otherDomains ? { otherDomains: options.otherDomains } : {}),
            ...(options.anonymous ? { anonymous: options.anonymous } : {}),
            ...(hours ? { workingHours: hours } : {}),
          });
        });
        const h = policy.workingHours;
        out.print(json, policy, `${policy.domain}: members ${policy.members}, other domains ${policy.otherDomains}, anonymous ${policy.anonymous}; working hours ${h.days.join(',')} ${h.start}–${h.end} ${h.timeZone}`);
      })(),
    );
}

