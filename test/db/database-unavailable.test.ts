import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/index.ts';
import { createDatabase } from '../../server/db/database.ts';
import { DATABASE_RETRY_AFTER_MS, toDmciError } from '../../server/errors.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';

/**
 * A saturated pool is not a server fault: a request that cannot get a
 * connection within the pool's timeout is answered UNAVAILABLE with
 * retryAfterMs (as the calendar worker queue does), never INTERNAL.
 */
let url: string;
beforeAll(async () => {
  url = await createTestDatabase();
});
afterAll(() => dropTestDatabase(url));

describe('a query that finds no free pooled connection', () => {
  it('becomes UNAVAILABLE with retryAfterMs; an ordinary SQL error stays INTERNAL', async () => {
    const { db } = createDatabase({ url, poolSize: 1, applicationName: 'unavailable-test', connectionTimeoutMs: 200 });
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let holding!: () => void;
      const inside = new Promise<void>((resolve) => (holding = resolve));
      const holder = db.transaction().execute(async (trx) => {
        await sql`select 1`.execute(trx);
        holding();
        await held;
      });
      await inside;
      const starved = await sql`select 1`.execute(db).then(
        () => null,
        (error: unknown) => error,
      );
      release();
      await holder;
      expect(starved).not.toBeNull();
      const mapped = toDmciError(starved);
      expect(mapped.code).toBe(ErrorCode.UNAVAILABLE);
      expect(mapped.retryAfterMs).toBe(DATABASE_RETRY_AFTER_MS);

      const broken = await sql`select * from no_such_table`.execute(db).then(
        () => null,
        (error: unknown) => error,
      );
      expect(toDmciError(broken).code).toBe(ErrorCode.INTERNAL);
    } finally {
      await db.destroy();
    }
  });
});
