import { Command, CommanderError } from 'commander';
import { DmciConnectionError } from './client.ts';
import { createContext, describeConnectionError, UsageError, type CommandFamily } from './commands/context.ts';
import { loadCommands } from './commands/load.ts';
import { sessionCommands } from './commands/session.ts';
import { calendarCommands } from './commands/calendar.ts';
import { schedulingCommands } from './commands/scheduling.ts';

/**
 * Command families of `dmci-sim`, one file each under commands/. To add
 * subcommands, write a CommandFamily and list it here.
 */
const families: CommandFamily[] = [sessionCommands, loadCommands, calendarCommands, schedulingCommands];

/**
 * The `dmci-sim` command: a simulated connector for trying a server by hand
 * and for load. Exit codes: 0 done, 1 refused or failed, 2 bad usage.
 */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let exitCode = 0;
  const program = new Command('dmci-sim')
    .description('dmci connector simulator: log in, call methods, generate load')
    .option('--url <url>', 'server URL (env DMCI_URL, default ws://127.0.0.1:8390)')
    .option('-u, --user <email>', 'login (env DMCI_USER)')
    .option('-p, --password <password>', 'password (env DMCI_PASSWORD; prefer the environment: arguments show in the process list)')
    .option('--json', 'print machine-readable JSON')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  const ctx = createContext(program, env, (code) => {
    exitCode = code;
  });
  for (const family of families) family(program, ctx);
  for (const command of program.commands) command.exitOverride();

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2; // commander printed it
    if (error instanceof UsageError) {
      process.stderr.write(`dmci-sim: ${error.message}\n`);
      return 2;
    }
    if (error instanceof DmciConnectionError) {
      process.stderr.write(`dmci-sim: ${describeConnectionError(error)}\n`);
      return 1;
    }
    process.stderr.write(`dmci-sim: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}
