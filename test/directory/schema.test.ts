import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/db/database.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';

let url: string;
let db: Db;
beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
});
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
});

describe('directory tables', () => {
  it('compute visible', async () => {
    const domain = await db.insertInto('domains').values({ name: 'schema.test' }).returning('id').executeTakeFirstOrThrow();
    const row = await db
      .insertInto('directory_entries')
      .values({ domain_id: domain.id, kind: 'person', display_name: 'Ann', email: 'ann@schema.test', modseq: 1, hidden: true })
      .returning(['visible'])
      .executeTakeFirstOrThrow();
    expect(row.visible).toBe(false);
  });
});
