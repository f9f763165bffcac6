import { InvalidArgumentError, type Command } from 'commander';
import type { InboxMessage } from '../../protocol/index.ts';
import { resolveCalendar } from '../calendar-sources.ts';
import { answerInvitation, InboxReplica, type Partstat } from '../scheduling.ts';
import { withClient } from './calendar.ts';
import type { CommandFamily } from './context.ts';

const line = (m: InboxMessage) => `${m.createdAt}  ${m.kind.padEnd(7)}  ${m.from}  ${m.partstat ?? ''}  ${m.summary ?? ''}  (event ${m.eventId ?? '-'}, SEQUENCE ${m.sequence})`;

/** Scheduling commands: `inbox [--watch]` and `reply EVENT ACCEPTED|DECLINED|TENTATIVE`. */
export const schedulingCommands: CommandFamily = (program: Command, ctx) => {
  program
    .command('inbox')
    .description('your scheduling inbox: invitations, updates, cancellations, answers')
    .option('--watch', 'keep following the inbox and print messages as they arrive')
    .action((options: { watch?: boolean }) =>
      withClient(ctx, async (client) => {
        const inbox = new InboxReplica(client);
        await inbox.start();
        const list = [...inbox.messages.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
        ctx.print(list, list.map(line).join('\n') || '(inbox empty)');
        if (!options.watch) return;
        inbox.onMessage((m) => ctx.print(m, line(m)));
        await new Promise<void>((resolve) => client.once('close', () => resolve()));
      }),
    );

  program
    .command('reply <eventId> <partstat>')
    .description('answer an invitation in your calendar: ACCEPTED, DECLINED or TENTATIVE')
    .option('--calendar <id>', 'calendar holding the invitation (default: your default calendar)')
    .option('--occurrence <recurrenceId>', 'answer one occurrence (its recurrenceId from `event list`)')
    .option('--sequence <n>', 'the organizer SEQUENCE you answer', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
      return n;
    })
    .action((eventId: string, partstat: string, options: { calendar?: string; occurrence?: string; sequence?: number }) =>
      withClient(ctx, async (client) => {
        const answer = partstat.toUpperCase();
        if (!['ACCEPTED', 'DECLINED', 'TENTATIVE'].includes(answer)) throw new InvalidArgumentError('partstat must be ACCEPTED, DECLINED or TENTATIVE');
        const calendar = await resolveCalendar(client, options.calendar);
        const version = await answerInvitation(client, calendar.id, eventId, answer as Partstat, {
          ...(options.occurrence !== undefined ? { recurrenceId: options.occurrence } : {}),
          ...(options.sequence !== undefined ? { sequence: options.sequence } : {}),
        });
        ctx.print({ eventId, partstat: answer, version }, `answered ${answer} (copy now at version ${version})`);
      }),
    );
};
