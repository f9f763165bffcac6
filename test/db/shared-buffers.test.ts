import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../server/db/database.ts';
import { defaultSharedBuffersMb } from '../../server/db/embedded-postgres.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';

/** The embedded PostgreSQL's shared_buffers (DMCI_PG_SHARED_BUFFERS_MB, docs/operations.md). */
describe('embedded PostgreSQL shared_buffers', () => {
  let url: string;
  beforeAll(async () => {
    url = await createTestDatabase();
  });
  afterAll(() => dropTestDatabase(url));

  it('defaults to a quarter of the memory, between 128 MB and 2 GB', () => {
    const GiB = 2 ** 30;
    expect(defaultSharedBuffersMb(256 * 2 ** 20)).toBe(128);
    expect(defaultSharedBuffersMb(2 * GiB)).toBe(512);
    expect(defaultSharedBuffersMb(24 * GiB)).toBe(2048);
  });

  it('is what the cluster the tests started runs with (started without the setting: the default)', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'shared-buffers-test' });
    try {
      const { rows } = await sql<{ setting: string; unit: string }>`select setting, unit from pg_settings where name = 'shared_buffers'`.execute(db);
      // pg_settings counts 8 kB pages.
      expect(rows[0]!.unit).toBe('8kB');
      expect((Number(rows[0]!.setting) * 8) / 1024).toBe(defaultSharedBuffersMb());
    } finally {
      await db.destroy();
    }
  });
});
