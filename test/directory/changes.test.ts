import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodedValue, unpackChangesPage, type DirectoryChangesPage, type DirectoryEntry } from '../../protocol/index.ts';
import { AccountService } from '../../server/accounts/account.service.ts';
import type { Actor } from '../../server/accounts/actor.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { PasswordHasher } from '../../server/accounts/password-hasher.ts';
import type { Db } from '../../server/db/database.ts';
import { registerAccountEntries } from '../../server/directory/account-entries.ts';
import { findEntryById, insertEntry } from '../../server/directory/directory.repository.ts';
import { DirectoryService } from '../../server/directory/directory.service.ts';
import { writeGal } from '../../server/directory/gal-write.ts';
import { pruneGalTombstones } from '../../server/directory/tombstone-prune.job.ts';
import { DomainService } from '../../server/domains/domain.service.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';
import { Random } from '../helpers/random.ts';

/**
 * The GAL change log (DESIGN §4) at the service level: concurrent writers and
 * a reader following Directory/changes end with the reader's replica equal
 * to a fresh full sync; pages may end inside one modseq; tombstones pruned
 * away make an old state CANNOT_CALCULATE_CHANGES.
 */
let url: string;
let db: Db;
let directory: DirectoryService;
let actor: Actor;
const published: Array<[string, number]> = [];

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  const accounts = new AccountService(db, new PasswordHasher({ concurrency: 1, memoryKiB: 1024 }), 3_600_000);
  const domains = new DomainService(db);
  registerAccountEntries(accounts, domains);
  const domain = await domains.create(systemActor, 'changes.test');
  await accounts.create(systemActor, { email: 'owner@changes.test', displayName: 'Owner', password: 'long enough password', role: 'domain_admin' });
  directory = new DirectoryService(db, (scope, modseq) => void published.push([scope, modseq]));
  actor = { kind: 'account', accountId: '00000000-0000-4000-8000-000000000000', role: 'domain_admin', domainId: domain.id, email: 'owner@changes.test' };
});
afterAll(async () => {
  await db.destroy();
  await dropTestDatabase(url);
});

type Replica = Map<string, DirectoryEntry>;

/** A page as the client library hands it over (entries unpacked from the columns the service answers with). */
const changes = async (args: { sinceState: string | undefined; maxChanges: number }): Promise<DirectoryChangesPage> => unpackChangesPage(decodedValue(await directory.changes(actor, args)));

function apply(replica: Replica, page: DirectoryChangesPage): void {
  for (const entry of [...page.created, ...page.updated]) replica.set(entry.id, entry);
  for (const id of page.destroyed) replica.delete(id);
}

/** Follows the log from `state` until hasMoreChanges is false; returns the final state. */
async function follow(replica: Replica, state: string | undefined, maxChanges: number): Promise<string> {
  for (;;) {
    const page = await changes({ sinceState: state, maxChanges });
    if (state !== undefined) expect(page.oldState).toBe(state);
    apply(replica, page);
    state = page.newState;
    if (!page.hasMoreChanges) return state;
  }
}

async function fullSync(): Promise<Replica> {
  const replica: Replica = new Map();
  await follow(replica, undefined, 5000);
  return replica;
}

describe('the GAL change log', () => {
  it('keeps a following reader equal to the table while several writers race', async () => {
    const replica: Replica = new Map();
    let state = await follow(replica, undefined, 3);
    let writing = true;

    const writer = async (seed: number) => {
      const random = new Random(seed);
      const mine: string[] = [];
      for (let i = 0; i < 30; i++) {
        const op = mine.length < 3 ? 0 : random.int(6);
        if (op === 0 || op === 1) {
          const kind = random.pick(['person', 'person', 'group', 'resource'] as const);
          const { entry } = await directory.adminCreate(actor, {
            domain: 'changes.test',
            kind,
            fields: { displayName: `W${seed} ${i}`, ...(kind === 'resource' ? { capacity: i } : {}), ...(random.bool() ? { hidden: true } : {}) },
            ifNotExists: false,
          });
          mine.push(entry.id);
        } else if (op === 2) {
          await directory.adminUpdate(actor, random.pick(mine), { title: `t${i}`, department: random.bool() ? null : 'Ops' });
        } else if (op === 3) {
          await directory.adminHide(actor, random.pick(mine), random.bool());
        } else if (op === 4) {
          const id = mine.splice(random.int(mine.length), 1)[0]!;
          await directory.adminDelete(actor, id);
        } else {
          const groups = (await Promise.all(mine.map((id) => directory.adminGet(actor, id)))).filter((e) => e.kind === 'group');
          if (groups.length > 0) {
            const members = mine.filter(() => random.bool()).filter((id) => !groups.some((g) => g.id === id));
            await directory.adminSetMembers(actor, random.pick(groups).id, members);
          }
        }
      }
    };
    const reader = async () => {
      while (writing) {
        state = await follow(replica, state, 3);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    };
    const reading = reader();
    await Promise.all([writer(1), writer(2), writer(3)]);
    writing = false;
    await reading;
    state = await follow(replica, state, 3);

    const truth = await fullSync();
    expect(replica.size).toBe(truth.size);
    expect(new Map([...replica].sort())).toEqual(new Map([...truth].sort()));
    // Every write published its scope and modseq after commit, in a strictly rising order per scope.
    const modseqs = published.map(([, m]) => m);
    expect(new Set(modseqs).size).toBe(modseqs.length);
  });

  it('pages inside one modseq with partial states, and a complete state at the end', async () => {
    const before = await follow(new Map(), undefined, 5000);
    const ids = await writeGal(db, () => undefined, actor.kind === 'account' ? actor.domainId : '', async (trx, modseq) => {
      const created: string[] = [];
      for (let i = 0; i < 25; i++) {
        created.push(await insertEntry(trx, { domain_id: (actor as { domainId: string }).domainId, kind: 'person', display_name: `Bulk ${i}`, modseq, created_modseq: modseq, account_id: null, deleted_at: null } as never));
      }
      return created;
    });
    const replica: Replica = new Map();
    const states: string[] = [];
    let state = before;
    for (;;) {
      const page = await changes({ sinceState: state, maxChanges: 4 });
      expect(page.created.length + page.updated.length + page.destroyed.length).toBeLessThanOrEqual(4);
      apply(replica, page);
      states.push(page.newState);
      state = page.newState;
      if (!page.hasMoreChanges) break;
    }
    expect([...replica.keys()].sort()).toEqual([...ids].sort());
    expect(states.slice(0, -1).every((s) => s.includes('~a'))).toBe(true);
    expect(states[states.length - 1]).toMatch(/^\d+$/);
  });

  it('ends a page early when large groups would make it too big', async () => {
    const domainId = (actor as { domainId: string }).domainId;
    const state = await follow(new Map(), undefined, 5000);
    await writeGal(db, () => undefined, domainId, async (trx, modseq) => {
      await sql`insert into directory_entries (domain_id, kind, display_name, modseq, created_modseq)
        select ${domainId}, 'person', 'Member ' || n, ${modseq}, ${modseq} from generate_series(1, 3000) n`.execute(trx);
      await sql`insert into directory_entries (domain_id, kind, display_name, modseq, created_modseq)
        select ${domainId}, 'group', 'Big ' || n, ${modseq}, ${modseq} from generate_series(1, 20) n`.execute(trx);
      await sql`insert into directory_members (group_id, member_id)
        select g.id, p.id from directory_entries g, directory_entries p
        where g.domain_id = ${domainId} and g.display_name like 'Big %' and p.domain_id = ${domainId} and p.display_name like 'Member %'`.execute(trx);
    });
    const first = await changes({ sinceState: state, maxChanges: 5000 });
    expect(first.hasMoreChanges).toBe(true);
    const groups = first.created.filter((e) => e.kind === 'group');
    expect(groups.reduce((n, g) => n + g.memberIds!.length, 0)).toBeLessThanOrEqual((2 * 1024 * 1024) / 40);
    const replica: Replica = new Map();
    apply(replica, first);
    await follow(replica, first.newState, 5000);
    expect([...replica.values()].filter((e) => e.kind === 'group' && e.displayName.startsWith('Big '))).toHaveLength(20);
  });

  it('walks a full sync in the order entries were written, (version, id), and sends a by-id full-sync state to a resync', async () => {
    const entries: DirectoryEntry[] = [];
    const states: string[] = [];
    let state: string | undefined;
    for (;;) {
      const page = await changes({ sinceState: state, maxChanges: 7 });
      entries.push(...page.created);
      states.push(page.newState);
      state = page.newState;
      if (!page.hasMoreChanges) break;
    }
    expect(entries.length).toBeGreaterThan(20);
    const order = (e: DirectoryEntry) => [e.version, e.id] as const;
    const sorted = [...entries].sort((a, b) => order(a)[0] - order(b)[0] || (order(a)[1] < order(b)[1] ? -1 : 1));
    expect(entries.map((e) => e.id)).toEqual(sorted.map((e) => e.id));
    expect(new Set(entries.map((e) => e.version)).size).toBeGreaterThan(1);
    // Every mid-sync state names its place by (modseq, id); one by id alone (an earlier server's) is not continued.
    expect(states.slice(0, -1).every((s) => /^\d+~i\d+~a[0-9a-f-]{36}$/.test(s))).toBe(true);
    const byId = states[0]!.replace(/~i\d+~a/, '~i~a');
    await expect(directory.changes(actor, { sinceState: byId, maxChanges: 7 })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
  });

  it('spells updatedAt as the SQL formats it exactly as Date.toISOString spells the stored time (UTC, milliseconds cut, not rounded)', async () => {
    const { entry } = await directory.adminCreate(actor, { domain: 'changes.test', kind: 'person', fields: { displayName: 'Stamped' }, ifNotExists: false });
    for (const stamp of ['2026-01-02 03:04:05.678999+00', '2026-12-31 23:59:59.9999+05:30', '2026-06-01 00:00:00+00', '1999-02-03 04:05:06.001+00']) {
      await sql`update directory_entries set updated_at = ${stamp}::timestamptz where id = ${entry.id}`.execute(db);
      const row = (await findEntryById(db, entry.id))!;
      expect(row.updated_at_iso).toBe(row.updated_at.toISOString());
    }
  });

  it('prunes tombstones, raises min_modseq, and sends an older state to a full resync', async () => {
    const { entry: doomed } = await directory.adminCreate(actor, { domain: 'changes.test', kind: 'person', fields: { displayName: 'Doomed' }, ifNotExists: false });
    const replica = await fullSync();
    const state = await follow(replica, undefined, 5000);
    await directory.adminDelete(actor, doomed.id);
    const page = await changes({ sinceState: state, maxChanges: 100 });
    expect(page.destroyed).toContain(doomed.id);

    expect(await pruneGalTombstones(db, new Date(Date.now() - 60_000))).toBe(0);
    expect(await pruneGalTombstones(db, new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    await expect(directory.changes(actor, { sinceState: state, maxChanges: 100 })).rejects.toMatchObject({ code: 'CANNOT_CALCULATE_CHANGES' });
    // From the state after the delete, nothing was lost: changes still work.
    const later = await changes({ sinceState: page.newState, maxChanges: 100 });
    expect(later).toMatchObject({ created: [], updated: [], destroyed: [] });
    const fresh = await fullSync();
    expect(fresh.has(doomed.id)).toBe(false);
    // A full sync in small pages still works although most live rows now sit below min_modseq.
    const paged: Replica = new Map();
    await follow(paged, undefined, 150);
    expect(new Map([...paged].sort())).toEqual(new Map([...fresh].sort()));
  });
});
