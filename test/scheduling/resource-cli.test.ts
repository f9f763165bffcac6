import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { runDmci } from '../helpers/run.ts';

/** `dmci resource show|policy` as an operator runs it (a child process on the database). */
let databaseUrl: string;
beforeAll(async () => {
  databaseUrl = await createTestDatabase();
});
afterAll(() => dropTestDatabase(databaseUrl));

const dmci = (args: string[], input?: string) => runDmci(args, { env: { DATABASE_URL: databaseUrl, DMCI_ARGON2_MEMORY_KIB: '1024' }, ...(input !== undefined ? { input } : {}) });

describe('dmci resource', { timeout: 180_000 }, () => {
  it('shows and changes a booking policy; bad input is a usage error', async () => {
    expect((await dmci(['domain', 'add', 'cli-rooms.test'])).code).toBe(0);
    const csv = 'email,displayName,type\nhall@cli-rooms.test,Great Hall,room\nann@cli-rooms.test,Ann,contact\n';
    const file = join(await mkdtemp(join(tmpdir(), 'dmci-rooms-')), 'rooms.csv');
    await writeFile(file, csv);
    const imported = await dmci(['import', file]);
    expect(imported.code, imported.stderr).toBe(0);

    const shown = await dmci(['--json', 'resource', 'show', 'hall@cli-rooms.test']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({ displayName: 'Great Hall', policy: { mode: 'auto', bookingWindowDays: 180 } });

    const changed = await dmci(['--json', 'resource', 'policy', 'hall@cli-rooms.test', '--mode', 'approval', '--max-duration', '90', '--bookers', 'ann@cli-rooms.test', '--recurring', 'no']);
    expect(changed.code, changed.stderr).toBe(0);
    expect(JSON.parse(changed.stdout).policy).toMatchObject({ mode: 'approval', maxDurationMinutes: 90, allowedBookers: ['ann@cli-rooms.test'], allowRecurring: false });
    expect((await dmci(['resource', 'show', 'hall@cli-rooms.test'])).stdout).toContain('mode: approval');

    expect((await dmci(['resource', 'policy', 'hall@cli-rooms.test', '--window-days', '5000'])).code).toBe(2);
    expect((await dmci(['resource', 'policy', 'hall@cli-rooms.test', '--mode', 'sometimes'])).code).toBe(2);
    const missing = await dmci(['--json', 'resource', 'show', 'nobody@cli-rooms.test']);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});
