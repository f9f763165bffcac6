import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../protocol/index.ts';
import { createDatabase, type Db } from '../../server/db/database.ts';
import { DmciError } from '../../server/errors.ts';
import { readChanges, walkLog, type ChangeLogReader } from '../../server/sync/change-log.ts';
import { decodeCursor } from '../../server/sync/state-token.ts';
import { calendarListScope, calendarScope, galScope } from '../../server/sync/scope-id.ts';
import { NothingChanged, writeScopes } from '../../server/sync/scope-write.ts';
import { readScope } from '../../server/sync/sync-scope.repository.ts';
import { createTestDatabase, dropTestDatabase } from '../helpers/database.ts';
import { Random } from '../helpers/random.ts';

/**
 * The sync core under many writers: each transaction writes several scopes
 * at once (as an invitation will: the organizer's calendar, attendees'
 * calendars, inboxes), through writeScopes, while readers of every scope
 * follow the change log through the one walker in small pages. A scratch
 * table stands in for a feature's rows (one row per scope per commit), so
 * the test checks the core alone: no deadlock (PostgreSQL would abort one
 * of the writers with 40P01), and every reader sees every commit of its
 * scope exactly once: the full sync's snapshot in id order (the walker's
 * contract for a sync without a state), then the log in modseq order.
 */
let url: string;
let db: Db;
const scopes = [calendarScope(randomUUID()), calendarScope(randomUUID()), calendarListScope(randomUUID()), calendarListScope(randomUUID()), galScope(randomUUID()), galScope(randomUUID())];

interface Row {
  id: string;
  modseq: number;
  created_modseq: number;
  deleted: boolean;
}

beforeAll(async () => {
  url = await createTestDatabase();
  db = createDatabase({ url, poolSize: 12, applicationName: 'dmci-test' }).db;
  await sql`create table scratch_log (scope text not null, id uuid primary key, modseq int not null, created_modseq int not null, deleted boolean not null default false)`.execute(db);
  for (const scope of scopes) await sql`insert into sync_scopes (id) values (${scope})`.execute(db);
});
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
});

function scratchReader(trx: Db, scope: string): ChangeLogReader<Row> {
  return {
    changes: async (after, upTo, limit) => {
      const position = after.id ? sql`(modseq, id) > (${after.modseq}, ${after.id}::uuid)` : sql`modseq > ${after.modseq}`;
      const result = await sql<Row>`select id, modseq, created_modseq, deleted from scratch_log
        where scope = ${scope} and modseq <= ${upTo} and ${position} order by modseq, id limit ${limit}`.execute(trx);
      return result.rows;
    },
    live: async (pinned, afterId, limit) => {
      const after = afterId ? sql`and id > ${afterId}::uuid` : sql``;
      const result = await sql<Row>`select id, modseq, created_modseq, deleted from scratch_log
        where scope = ${scope} and not deleted and created_modseq <= ${pinned} ${after} order by id limit ${limit}`.execute(trx);
      return result.rows;
    },
    entry: (row) => ({ id: row.id, modseq: row.modseq, createdModseq: row.created_modseq, gone: row.deleted }),
  };
}

/** One /changes page of a scope from `state`, through the core's snapshot and walker. */
async function page(scope: string, state: string | undefined, maxChanges: number) {
  return readChanges(db, scope, state, async ({ trx, upTo, since }) => walkLog(scratchReader(trx, scope), since, upTo, maxChanges), {
    notFound: () => new DmciError(ErrorCode.NOT_FOUND, `no scope ${scope}`),
  });
}

/** A writer's transaction: bumps `touched` (in the order given), stamps one new row per scope. */
async function commitTo(touched: readonly string[], published: Array<[string, number]>): Promise<Map<string, number>> {
  return writeScopes(
    db,
    (scope, modseq) => void published.push([scope, modseq]),
    async (writer) => {
      const modseqs = await writer.bumpAll(touched);
      // Hold the locks a moment so writers overlap and queue on each other's scopes.
      await sql`select pg_sleep(0.002)`.execute(writer.trx);
      for (const [scope, modseq] of modseqs) {
        await sql`insert into scratch_log (scope, id, modseq, created_modseq) values (${scope}, ${randomUUID()}::uuid, ${modseq}, ${modseq})`.execute(writer.trx);
      }
      return modseqs;
    },
  );
}

/**
 * Follows a scope like a connector: a full sync, then /changes in small
 * pages until told to stop and caught up. Keeps the full sync's snapshot
 * (live rows pinned at one modseq, in id order) apart from the log that
 * follows it (modseq order), because the walker sends them in those orders.
 */
async function follow(scope: string, maxChanges: number, done: () => boolean) {
  const snapshot: Row[] = [];
  const log: Row[] = [];
  let pinned: number | undefined;
  let state: string | undefined;
  for (;;) {
    const finished = done();
    let more = true;
    while (more) {
      const fromSnapshot = state === undefined || decodeCursor(state).initial;
      const result = await page(scope, state, maxChanges);
      (fromSnapshot ? snapshot : log).push(...result.created, ...result.updated);
      state = result.newState;
      more = result.hasMoreChanges;
      if (fromSnapshot && !decodeCursor(state).initial) pinned = decodeCursor(state).modseq;
    }
    if (finished) return { snapshot, pinned: pinned!, log, state: state! };
    await new Promise((resolve) => setTimeout(resolve, 3));
  }
}

describe('multi-scope writes through the sync core', () => {
  it('never deadlocks, and every reader of every scope sees every commit exactly once: the snapshot by id, then the log in modseq order', async () => {
    const random = new Random(8);
    const published: Array<[string, number]> = [];
    const before = new Map<string, number>();
    for (const scope of scopes) before.set(scope, (await readScope(db, scope))!.modseq);
    let writing = true;
    const readers = scopes.flatMap((scope) => [follow(scope, 3, () => !writing), follow(scope, 1, () => !writing)]);

    const forward = scopes.slice(0, 4);
    const backward = [...forward].reverse();
    const writers = [
      // Two writers touching the same scopes in opposite orders, over and over.
      (async () => {
        for (let i = 0; i < 30; i++) await commitTo(forward, published);
      })(),
      (async () => {
        for (let i = 0; i < 30; i++) await commitTo(backward, published);
      })(),
      // And many writers touching random sets of 2–4 scopes in random orders.
      ...Array.from({ length: 6 }, (_, w) =>
        (async () => {
          for (let i = 0; i < 20; i++) {
            const shuffled = [...scopes].sort(() => random.next() - 0.5);
            await commitTo(shuffled.slice(0, 2 + random.int(3)), published);
          }
          return w;
        })(),
      ),
    ];
    const outcomes = await Promise.allSettled(writers);
    writing = false;
    expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    const followed = await Promise.all(readers);

    for (const [i, scope] of scopes.entries()) {
      const final = (await readScope(db, scope))!.modseq;
      const committed = (await sql<{ id: string; modseq: number }>`select id, modseq from scratch_log where scope = ${scope} order by modseq`.execute(db)).rows;
      // One row per commit, stamped with consecutive modseqs: no commit lost its number or took another's.
      expect(committed.map((r) => r.modseq)).toEqual(Array.from({ length: final - before.get(scope)! }, (_, n) => before.get(scope)! + n + 1));
      // Hints went out after commit, one per committed (scope, modseq).
      expect(published.filter(([s]) => s === scope).map(([, m]) => m).sort((a, b) => a - b)).toEqual(committed.map((r) => r.modseq));
      for (const reader of [followed[2 * i]!, followed[2 * i + 1]!]) {
        expect(reader.state).toBe(String(final));
        const inSnapshot = committed.filter((r) => r.modseq <= reader.pinned);
        expect(reader.snapshot.map((r) => r.id)).toEqual(inSnapshot.map((r) => r.id).sort());
        expect(reader.log.map((r) => r.id)).toEqual(committed.filter((r) => r.modseq > reader.pinned).map((r) => r.id));
      }
    }
  }, 180_000);

  it('refuses a bump out of the global order inside one transaction at once, and rolls back a write that changed nothing', async () => {
    const [a, b] = [...scopes].sort();
    await expect(
      writeScopes(db, () => undefined, async (writer) => {
        await writer.bump(b!);
        await writer.bump(a!);
      }),
    ).rejects.toThrow(/out of order/);

    const state = (await readScope(db, a!))!.modseq;
    const published: string[] = [];
    const answer = await writeScopes(
      db,
      (scope) => void published.push(scope),
      async (writer) => {
        await writer.bump(a!);
        throw new NothingChanged();
      },
      () => 'unchanged',
    );
    expect(answer).toBe('unchanged');
    expect((await readScope(db, a!))!.modseq).toBe(state);
    expect(published).toEqual([]);
  });
});
