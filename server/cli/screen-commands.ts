import type { Command } from 'commander';
import { parseSpan } from './time-span.ts';
import { DEFAULT_ADMIN_BLOCK_MS } from '../security/screen.service.ts';
import type { ScreenList } from '../security/screen.table.ts';
import { withServices, type CommandContext } from './cli-context.ts';
import { cliActor } from './cli-actor.ts';

/**
 * `dmci screen ...`: the screening every node shares through PostgreSQL
 * (docs/security.md "Screening"). Changes hold on every running node within
 * moments: the command's commit sends the nodes a hint.
 */
export function registerScreenCommands(program: Command, { run, cliLog, out }: CommandContext): void {
  const screen = program.command('screen').description('blocked addresses, trusted hosts and the IP and host allow/deny lists, shared by every node');

  screen
    .command('list')
    .description('blocks in force (reason, count, until) and every list entry (configured or added here)')
    .action(() =>
      run(async (config, json) => {
        const { blocks, rules } = await withServices(config, cliLog(), ({ screen: service }) => service.overview(cliActor));
        if (json) return void out.write(JSON.stringify({ blocks, rules }, null, 2) + '\n');
        out.write('blocks in force\n');
        out.table(['address', 'reason', 'source', 'count', 'until', 'by'], blocks.map((b) => [b.key, b.reason, b.source, String(b.count), b.until, b.by]));
        out.write('\nlists\n');
        out.table(['list', 'entry', 'from', 'note'], rules.map((r) => [r.list, r.value, r.source === 'config' ? 'configuration' : `${r.by ?? ''} ${r.createdAt ?? ''}`.trim(), r.note]));
      })(),
    );

  screen
    .command('block <address>')
    .description('block an address or CIDR block on every node (default for 24h)')
    .option('--reason <text>', 'why (kept in the audit log and shown by `screen list`)', 'blocked by an admin')
    .option('--for <span>', 'how long: 30m, 12h, 7d (1 minute to 365 days)', parseSpan, DEFAULT_ADMIN_BLOCK_MS)
    .action((address: string, options: { reason: string; for: number }) =>
      run(async (config, json) => {
        const block = await withServices(config, cliLog(), ({ screen: service }) => service.block(cliActor, address, { reason: options.reason, forMs: options.for }));
        out.print(json, block, `${block.key} blocked until ${block.until}`);
      })(),
    );

  screen
    .command('unblock <address>')
    .description('lift the block on an address (and on its /24 or /64 neighbourhood) or a CIDR block, on every node')
    .action((address: string) =>
      run(async (config, json) => {
        const lifted = await withServices(config, cliLog(), ({ screen: service }) => service.unblock(cliActor, address));
        out.print(json, { lifted }, `lifted: ${lifted.map((b) => b.key).join(', ')}`);
      })(),
    );

  const lists: Array<[string, string, (value: string) => ScreenList]> = [
    ['trust', 'exempt an address or CIDR block from screening, delays and blocks (never from authentication)', () => 'trusted'],
    ['allow', 'add an address, CIDR block or host name (*.domain) to the allow list: once an allow list exists, only what is on it may connect', (v) => (isHostName(v) ? 'host_allow' : 'ip_allow')],
    ['deny', 'add an address, CIDR block or host name (*.domain) to the deny list', (v) => (isHostName(v) ? 'host_deny' : 'ip_deny')],
  ];
  for (const [verb, description, listOf] of lists) {
    screen
      .command(`${verb} <entry>`)
      .description(description)
      .option('--remove', 'take the entry off the list instead')
      .option('--note <text>', 'a note kept with the entry', '')
      .action((entry: string, options: { remove?: boolean; note: string }) =>
        run(async (config, json) => {
          const list = listOf(entry);
          if (options.remove) {
            await withServices(config, cliLog(), ({ screen: service }) => service.removeRule(cliActor, list, entry));
            return out.print(json, { list, value: entry, removed: true }, `${entry} removed from the ${list} list`);
          }
          const rule = await withServices(config, cliLog(), ({ screen: service }) => service.addRule(cliActor, list, entry, options.note));
          out.print(json, rule, `${rule.value} added to the ${list} list`);
        })(),
      );
  }
}

/** Host lists take names; address lists take addresses and CIDR blocks (anything with a digit-only last label or a colon). */
function isHostName(value: string): boolean {
  return !value.includes(':') && /[a-z*]/i.test(value.split('/')[0]!.split('.').at(-1) ?? '');
}

