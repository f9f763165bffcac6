import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Db } from '../../server/db/database.ts';
import { PREPARED } from '../../server/db/prepared-statements.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';

/**
 * Statements marked PREPARED run as named prepared statements on the
 * connection (so PostgreSQL can keep a plan), at most maxPerConnection of
 * them; everything else runs unnamed as before.
 */
let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
});
afterAll(() => dropTestDatabase(url));

/** The statements prepared on the pool's one connection. */
async function preparedTexts(db: Db): Promise<string[]> {
  const { rows } = await sql<{ statement: string }>`select statement from pg_prepared_statements order by prepare_time`.execute(db);
  return rows.map((row) => row.statement);
}

describe('prepared statements', () => {
  it('prepares a marked statement once per connection and answers each execution with its own values', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'prepared-test', prepared: { maxPerConnection: 2, maxUses: 1000 } });
    try {
      const marked = (n: number) => sql<{ n: number }>`select ${sql.raw(PREPARED)} ${n}::int + 1 as n`;
      expect((await marked(1).execute(db)).rows).toEqual([{ n: 2 }]);
      expect((await marked(41).execute(db)).rows).toEqual([{ n: 42 }]);
      // Kysely's builder marks the same way.
      const built = await db.selectNoFrom(sql<number>`${5}::int * 2`.as('n')).modifyFront(sql.raw(PREPARED)).execute();
      expect(built).toEqual([{ n: 10 }]);
      expect(await sql<{ n: number }>`select ${7}::int as n`.execute(db).then((r) => r.rows)).toEqual([{ n: 7 }]);
      const texts = await preparedTexts(db);
      expect(texts).toHaveLength(2);
      expect(texts.every((text) => text.startsWith(`select ${PREPARED}`))).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('prepares a statement that begins with common table expressions when its WITH is marked (the rights query)', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'prepared-test', prepared: { maxPerConnection: 2, maxUses: 1000 } });
    try {
      const marked = (n: number) => sql<{ n: number }>`with ${sql.raw(PREPARED)} recursive up(n) as (select 1 union all select n + 1 from up where n < ${n}::int) select max(n)::int as n from up`;
      expect((await marked(3).execute(db)).rows).toEqual([{ n: 3 }]);
      expect((await marked(9).execute(db)).rows).toEqual([{ n: 9 }]);
      expect(await preparedTexts(db)).toEqual([expect.stringMatching(/^with \/\* prepared \*\/ recursive/)]);
      // A multi-line template starts with white space before its marked select.
      const indented = sql<{ n: number }>`
        select ${sql.raw(PREPARED)} ${4}::int as n`;
      expect((await indented.execute(db)).rows).toEqual([{ n: 4 }]);
      expect(await preparedTexts(db)).toHaveLength(2);
    } finally {
      await db.destroy();
    }
  });

  it('prepares at most maxPerConnection texts per connection; the rest still answer, unnamed', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'prepared-test', prepared: { maxPerConnection: 2, maxUses: 1000 } });
    try {
      for (let k = 0; k < 5; k++) {
        const { rows } = await sql<{ n: number }>`select ${sql.raw(PREPARED)} ${k}::int + ${sql.raw(String(k))} as n`.execute(db);
        expect(rows).toEqual([{ n: 2 * k }]);
      }
      expect(await preparedTexts(db)).toHaveLength(2);
    } finally {
      await db.destroy();
    }
  });

  it('leaves pools without the option, and unmarked statements, unprepared', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'prepared-test' });
    try {
      await sql`select ${sql.raw(PREPARED)} ${1}::int as n`.execute(db);
      expect(await preparedTexts(db)).toEqual([]);
    } finally {
      await db.destroy();
    }
  });
});
