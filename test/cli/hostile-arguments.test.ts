import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidArgumentError } from 'commander';
import { systemActor } from '../../server/accounts/actor.ts';
import { parseSince } from '../../server/cli/audit-commands.ts';
import type { ScreenList } from '../../server/security/screen.table.ts';
import { runCli } from '../helpers/cluster.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 on the admin CLI: `dmci audit` and `dmci screen` with hostile
 * arguments — bad and absurd dates, huge or odd limits, bad and all-covering
 * CIDR blocks, SQL-ish strings, huge texts — each get a clear error with the
 * documented exit code (2: usage, checked before the database; 1: refused by
 * the service, `INVALID_ARGUMENTS`), and nothing is written. NUL cannot reach
 * a command through its arguments (the OS passes them as C strings); the
 * same services behind other doors meet the database's NUL guard.
 */
let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.stop());

const cli = (...args: string[]) => runCli(['--json', ...args], server.databaseUrl);
const errorOf = (stderr: string) => (JSON.parse(stderr) as { error: { code: string; message: string } }).error;

describe('dmci audit and dmci screen with hostile arguments', { timeout: 300_000 }, () => {
  // Through the real command (a process each: the exit codes and the JSON error are the contract).
  it.each([
    ['a word for a date', ['audit', '--since', 'yesterday']],
    ['a span past any date (was a raw database error, exit 1)', ['audit', '--since', '99999999999d']],
    ['a hexadecimal limit (was taken as 16)', ['audit', '--limit', '0x10']],
    ['a limit past 100,000', ['audit', '--limit', '99999999999999999999']],
    ['a block span that is not one', ['screen', 'block', '1.2.3.4', '--for', 'forever']],
  ])('%s is a usage error (exit 2)', async (_label, args) => {
    const result = await cli(...args);
    expect(result.code, result.stderr).toBe(2);
    expect(errorOf(result.stderr)).toMatchObject({ code: 'USAGE' });
  });

  it.each([
    ['a block of every address (locked everyone out of every door)', ['screen', 'block', '0.0.0.0/0'], 'covers at most a /8'],
    ['a reason of 100,000 characters', ['screen', 'block', '1.2.3.4', '--reason', 'r'.repeat(100_000)], 'a reason has at most 500 characters'],
    ['an SQL-ish address', ['screen', 'block', "1.2.3.4'; drop table screen_blocks; --"], 'is not an IP address or CIDR block'],
  ])('%s is refused with INVALID_ARGUMENTS (exit 1)', async (_label, args, message) => {
    const result = await cli(...args);
    expect(result.code, result.stderr).toBe(1);
    const error = errorOf(result.stderr);
    expect(error.code).toBe('INVALID_ARGUMENTS');
    expect(error.message).toContain(message);
    expect(error.message.length).toBeLessThan(400); // a huge argument is not echoed back whole
  });

  // The rest of the table against the same code in-process: the commands pass these to it unchanged.
  it.each([
    ['yesterday'],
    ['2026-13-45'],
    ['99999999999d'],
    ['+275760-09-13'],
  ])('--since %j is refused before any query', (text) => {
    expect(() => parseSince(text)).toThrow(InvalidArgumentError);
  });

  it.each([
    ['block', '999.1.1.1', 'is not an IP address or CIDR block'],
    ['block', '10.0.0.0/33', 'is not an IP address or CIDR block'],
    ['block', '', 'is not an IP address or CIDR block'],
    ['block', '::/0', 'covers at most a /8 (IPv4) or /32 (IPv6)'],
    ['block', '10.0.0.0/7', 'covers at most a /8'],
    ['trusted', '0.0.0.0/1', 'covers at most a /8'], // exempted half the Internet from the login guard
    ['trusted', '2001::/16', 'covers at most a /8 (IPv4) or /32 (IPv6)'],
    ['trusted', 'example.com', 'is not an IP address or CIDR block'],
    ['host_deny', '*', 'is not a host name or a *.domain pattern'],
    ['host_allow', 'a..b', 'is not a host name or a *.domain pattern'],
    ['host_deny', `${'x'.repeat(300)}.com`, 'is not a host name or a *.domain pattern'],
  ])('screen %s %j: INVALID_ARGUMENTS', async (list, value, message) => {
    const screen = server.app.services.screen;
    const attempt = list === 'block' ? screen.block(systemActor, value, { reason: 'test' }) : screen.addRule(systemActor, list as ScreenList, value);
    await expect(attempt).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS', message: expect.stringContaining(message) });
  });

  it('refuses block spans outside 1 minute to 365 days and notes over 500 characters', async () => {
    const screen = server.app.services.screen;
    await expect(screen.block(systemActor, '1.2.3.4', { reason: 'x', forMs: 999_999_999 * 86_400_000 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(screen.block(systemActor, '1.2.3.4', { reason: 'x', forMs: 0 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(screen.addRule(systemActor, 'trusted', '1.2.3.5', 'n'.repeat(501))).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS', details: { limit: 500 } });
  });

  it('treats SQL-ish text as data and wrote nothing for any refusal above', async () => {
    const audit = await cli('audit', '--user', "x' or 1=1 --", '--limit', '5');
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toEqual([]);
    const { blocks, rules } = await server.app.services.screen.overview(systemActor);
    expect(blocks).toEqual([]);
    expect(rules).toEqual([]);
  });
});
