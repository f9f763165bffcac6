import { sql } from 'kysely';
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
  it('compute visible, and the prefix indexes serve a lower(col) like prefix search', async () => {
    const domain = await db.insertInto('domains').values({ name: 'schema.test' }).returning('id').executeTakeFirstOrThrow();
    const row = await db
      .insertInto('directory_entries')
      .values({ domain_id: domain.id, kind: 'person', display_name: 'Ann', email: 'ann@schema.test', modseq: 1, hidden: true })
      .returning(['visible'])
      .executeTakeFirstOrThrow();
    expect(row.visible).toBe(false);
    await sql`
      insert into directory_entries (domain_id, kind, display_name, surname, modseq)
      select ${domain.id}, 'person', 'n' || g, md5(g::text), 1 from generate_series(1, 3000) g`.execute(db);
    await sql`analyze directory_entries`.execute(db);
    const plan = await sql<{ 'QUERY PLAN': string }>`explain select id from directory_entries where domain_id = ${domain.id} and lower(surname) like 'ab%'`.execute(db);
    expect(plan.rows.map((r) => r['QUERY PLAN']).join('\n')).toContain('directory_entries_prefix_surname');
  });
});
