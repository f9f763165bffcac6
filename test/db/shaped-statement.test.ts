import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, type Db } from '../../server/db/database.ts';
import { ShapedStatement } from '../../server/db/shaped-statement.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';

/**
 * A statement compiled once per shape and run with each call's values
 * (server/db/shaped-statement.ts): the same answers as building it each
 * time, and a clear refusal of a statement that would not be reusable.
 */
let url: string;
let db: Db;
beforeAll(async () => {
  url = await createTestDatabase();
  db = createDatabase({ url, poolSize: 1, applicationName: 'shaped-test' }).db;
});
afterAll(async () => {
  await db?.destroy();
  await dropTestDatabase(url);
});

type Values = Record<string, string | number>;

/** Numbers 1..20 as text, filtered by a lower bound and optionally a prefix, limited. */
const numbers = (db: Db, shape: { prefix: boolean }, values: Values) => {
  let query = db
    .selectFrom(sql<{ n: number }>`(select n, n::text as t from generate_series(1, 20) n)`.as('s'))
    .select(['s.n'])
    .where('s.n', '>=', values.from as number)
    .orderBy('s.n')
    .limit(values.limit as number);
  if (shape.prefix) query = query.where(sql<boolean>`s.t like ${values.prefix} || '%'`);
  return query;
};

describe('a shaped statement', () => {
  it('answers each call with its own values, one compiled text per shape', async () => {
    const statement = new ShapedStatement(numbers);
    const run = async (shape: { prefix: boolean }, values: Values) => (await db.executeQuery(statement.compile(db, shape, values))).rows.map((row) => row.n);
    expect(await run({ prefix: false }, { from: 3, limit: 4 })).toEqual([3, 4, 5, 6]);
    expect(await run({ prefix: false }, { from: 17, limit: 10 })).toEqual([17, 18, 19, 20]);
    expect(await run({ prefix: true }, { from: 1, limit: 5, prefix: '1' })).toEqual([1, 10, 11, 12, 13]);
    expect(await run({ prefix: true }, { from: 12, limit: 5, prefix: '2' })).toEqual([20]);
    // The same text for one shape whatever the values; another shape, another text.
    const a = statement.compile(db, { prefix: false }, { from: 1, limit: 1 });
    const b = statement.compile(db, { prefix: false }, { from: 9, limit: 2 });
    expect(a.sql).toBe(b.sql);
    expect(b.parameters).toEqual([9, 2]);
    expect(statement.compile(db, { prefix: true }, { from: 1, limit: 1, prefix: 'x' }).sql).not.toBe(a.sql);
  });

  it('refuses a value with a NUL, as every statement does', () => {
    const statement = new ShapedStatement(numbers);
    expect(() => statement.compile(db, { prefix: true }, { from: 1, limit: 1, prefix: 'a\0' })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENTS' }));
  });

  it('refuses to keep a shape whose values do not reach the statement unchanged', () => {
    // A value transformed before it became a parameter would be frozen into the shape.
    const transformed = new ShapedStatement((db: Db, _shape: null, values: Values) => db.selectNoFrom(sql<string>`${`${values.text}%`}`.as('p')));
    expect(() => transformed.compile(db, null, { text: 'a' })).toThrow(/transformed/);
    // A value the statement never uses would be ignored by every later call.
    const ignored = new ShapedStatement((db: Db, _shape: null, values: Values) => db.selectNoFrom(sql<number>`${values.used}::int`.as('n')));
    expect(() => ignored.compile(db, null, { used: 1, unused: 2 })).toThrow(/unused/);
  });
});
