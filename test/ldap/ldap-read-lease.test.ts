import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountService } from '../../server/accounts/account.service.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { PasswordHasher } from '../../server/accounts/password-hasher.ts';
import { DirectoryReadLease, settleDirectoryWrite, settlingPublisher, type MonotonicClock } from '../../server/cluster/directory-read-lease.ts';
import type { Db } from '../../server/db/database.ts';
import type { Database } from '../../server/db/schema.ts';
import { DirectoryService } from '../../server/directory/directory.service.ts';
import { createLogger } from '../../server/log/logger.ts';
import { LdapIndex } from '../../server/ldap/ldap-index.ts';
import type { LdapIdentity } from '../../server/ldap/ldap-identity.ts';
import { ResultCode } from '../../server/ldap/ldap-result.ts';
import { LdapSearch } from '../../server/ldap/ldap-search.ts';
import { encodeOutgoing } from '../../server/ldap/ldap-answer.ts';
import { filterNode } from '../helpers/ldap.ts';
import type { ScopePublisher } from '../../server/sync/scope-write.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, SEARCH_LIMITS, startGalServer } from './gal-fixture.ts';

/**
 * Read-your-writes across nodes with the LDAP door's per-search round trip
 * gone (cluster/directory-read-lease.ts). Node A is the test server's
 * database, written through the real write paths (DirectoryService over
 * writeGal with the settling publisher, AccountService with its settle
 * hook); node B is an LdapSearch with its own index, pool and read lease.
 * Both share one monotonic clock that only moves when a writer waits or the
 * test says so: whether B answers from an earlier read then depends on the
 * protocol alone, never on how fast this machine is. Each case also shows
 * the stale answer a writer that does not wait would leave behind.
 */
const WINDOW_MS = 50;
const limits = SEARCH_LIMITS;
const log = createLogger('silent');

/** Time moves when a writer sleeps (it waited that long) or when the test advances it. */
class StepClock implements MonotonicClock {
  t = 1_000;
  slept = 0;
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.t += ms;
    this.slept += ms;
  }
}

let server: TestServer;
let domainId: string;
let pool: pg.Pool;
/** Node B's pool, counting the GAL version reads it sends. */
let dbB: Db;
let versionReads = 0;
let privilegeReads = 0;

beforeAll(async () => {
  server = await startGalServer();
  domainId = (await sql<{ id: string }>`select id from domains where name = 'example.com'`.execute(server.app.db)).rows[0]!.id;
  pool = new pg.Pool({ connectionString: server.databaseUrl, max: 4 });
  dbB = new Kysely<Database>({
    dialect: new PostgresDialect({ pool }),
    log: (event) => {
      if (event.level !== 'query') return;
      if (/from sync_scopes where id/.test(event.query.sql)) versionReads++;
      if (/"password_changed_at" from "accounts"/.test(event.query.sql)) privilegeReads++;
    },
  });
}, 60_000);
afterAll(async () => {
  await dbB?.destroy();
  await server?.stop();
});

/** Node B: its own index, pool and lease on the shared clock. */
async function nodeB(clock: StepClock, nodeId: string, leaseMs?: number) {
  const lease = new DirectoryReadLease({ db: dbB, nodeId, windowMs: WINDOW_MS, log, clock, ...(leaseMs ? { leaseMs } : {}) });
  const index = new LdapIndex({ db: dbB, maxBytes: 64 * 1024 * 1024, log });
  const search = new LdapSearch({ db: dbB, limits, vendorVersion: 'test', index, lease });
  await lease.renew();
  // The first search starts the build (SQL answers it).
  await names(search, undefined, '(cn=x*)');
  await index.settled(domainId);
  return { lease, index, search };
}

/** Node A's directory writes, through writeGal; `settle: false` is a writer that acknowledges without waiting. */
function directoryA(clock: StepClock, settle = true): DirectoryService {
  const announce: ScopePublisher = (scope, modseq) => server.app.bus.publish({ kind: 'scope', scope, modseq });
  return new DirectoryService(server.app.db, settle ? settlingPublisher(announce, server.app.db, WINDOW_MS, clock) : announce);
}

function accountsA(clock: StepClock, settle = true): AccountService {
  const hasher = new PasswordHasher({ concurrency: 1, memoryKiB: 1024, maxQueued: 10, maxPerKey: 2 });
  const service = new AccountService(server.app.db, hasher, 3_600_000, undefined, settle ? () => settleDirectoryWrite(server.app.db, WINDOW_MS, { clock }) : undefined);
  return service;
}

/** The search's result code and the addresses (from the DNs) of the entries it found. */
async function names(search: LdapSearch, identity: LdapIdentity | undefined, filter: string): Promise<{ code: ResultCode; names: string[] }> {
  const found: string[] = [];
  try {
    const done = await search.search(
      identity,
      { base: BASE, scope: 'one', filter: filterNode(filter), attributes: ['cn'], typesOnly: false, sizeLimit: 0, timeLimitSeconds: 0 },
      (entry) => found.push('writeInto' in entry ? encodeOutgoing(entry, 1).toString('latin1') : entry.dn),
    );
    return { code: done.code, names: found.map((text) => /mail=([^,]+),ou=gal/.exec(text)?.[1] ?? text).sort() };
  } catch (error) {
    return { code: (error as { code: ResultCode }).code, names: [] };
  }
}

async function entryId(email: string): Promise<string> {
  return (await sql<{ id: string }>`select id from directory_entries where email = ${email}`.execute(server.app.db)).rows[0]!.id;
}

async function identityOf(email: string): Promise<LdapIdentity> {
  const row = (await sql<{ id: string; role: LdapIdentity['role']; domain_id: string; password_changed_at: Date }>`
    select id, role, domain_id, password_changed_at from accounts where email = ${email}`.execute(server.app.db)).rows[0]!;
  return { accountId: row.id, email, role: row.role, domainId: row.domain_id, domain: email.split('@')[1]!, passwordChangedAt: row.password_changed_at };
}

describe('directory read leases', () => {
  it('a write acknowledged on node A is in the next search on node B, which otherwise reads nothing per search', async () => {
    const clock = new StepClock();
    const b = await nodeB(clock, 'node-b-1');
    const anr = '(|(cn=quill*)(mail=quill*)(sn=quill*)(givenName=quill*))';
    expect((await names(b.search, undefined, anr)).names).toEqual([]);
    // Steady state: searches within the window make no version read, and the index answers them.
    const reads = versionReads;
    const answered = b.index.answered;
    for (let k = 0; k < 3; k++) expect((await names(b.search, undefined, anr)).names).toEqual([]);
    expect(versionReads).toBe(reads);
    expect(b.index.answered).toBe(answered + 3);

    // A writer that acknowledged without waiting: B, still trusting its earlier read, would not show the change.
    await directoryA(clock, false).adminUpdate(systemActor, await entryId('abe.zed@example.com'), { displayName: 'Quill Zed' });
    expect((await names(b.search, undefined, anr)).names).toEqual([]);

    // The real write path waits out the window after commit: B's next search reads the version and sees the change.
    const slept = clock.slept;
    await directoryA(clock).adminUpdate(systemActor, await entryId('abby@example.com'), { displayName: 'Quill Abbott' });
    expect(clock.slept - slept).toBe(WINDOW_MS);
    expect((await names(b.search, undefined, anr)).names).toEqual(['abby@example.com', 'abe.zed@example.com']);
    expect(versionReads).toBeGreaterThan(reads);
    await b.lease.release();
  });

  it('an account disabled or an admin demoted on node A is refused by node B at its next search', async () => {
    const clock = new StepClock();
    const b = await nodeB(clock, 'node-b-2');
    await server.createAccount('erin@example.com', 'correct horse battery staple', 'domain_admin', 'Erin Admin');
    await server.createAccount('fred@example.com', 'correct horse battery staple', 'user', 'Fred User');
    const erin = await identityOf('erin@example.com');
    const fred = await identityOf('fred@example.com');
    expect((await names(b.search, erin, '(cn=filler 0*)')).code).toBe(ResultCode.success);
    expect((await names(b.search, fred, '(cn=filler 0*)')).code).toBe(ResultCode.success);
    const reads = privilegeReads;
    expect((await names(b.search, erin, '(cn=filler 0*)')).code).toBe(ResultCode.success);
    expect(privilegeReads).toBe(reads);

    // Without the wait, B would go on trusting the privileges it read.
    await accountsA(clock, false).update(systemActor, 'erin@example.com', { role: 'user' });
    expect((await names(b.search, erin, '(cn=filler 0*)')).code).toBe(ResultCode.success);

    await accountsA(clock).setEnabled(systemActor, 'fred@example.com', false);
    expect((await names(b.search, fred, '(cn=filler 0*)')).code).toBe(ResultCode.insufficientAccessRights);
    expect((await names(b.search, erin, '(cn=filler 0*)')).code).toBe(ResultCode.insufficientAccessRights);
    await b.lease.release();
  });

  it('a renewal a writer did not see: reads sent before it returned are not trusted', async () => {
    const clock = new StepClock();
    const b = await nodeB(clock, 'node-b-3', 2_000);
    const anr = '(|(cn=pike*)(mail=pike*))';
    // Let B's lease lapse (in its own view and in PostgreSQL's), then read while no lease is held.
    clock.t += 3_000;
    await sql`update directory_read_leases set expires_at = clock_timestamp() - interval '1 second' where node_id = 'node-b-3'`.execute(server.app.db);
    // Hold B's lease row: the renewal this search starts stays in flight.
    const holder = await pool.connect();
    await holder.query('begin');
    await holder.query(`select 1 from directory_read_leases where node_id = 'node-b-3' for update`);
    expect((await names(b.search, undefined, anr)).names).toEqual([]);
    const renewal = b.lease.renew();
    // A write commits and finds no lease: it does not wait.
    const slept = clock.slept;
    await directoryA(clock).adminUpdate(systemActor, await entryId('filler03@example.com'), { displayName: 'Pike Filler' });
    expect(clock.slept).toBe(slept);
    // Then the renewal commits and returns, later than B's read was sent.
    clock.t += 1;
    await holder.query('commit');
    holder.release();
    await renewal;
    expect((await names(b.search, undefined, anr)).names).toEqual(['filler03@example.com']);
    await b.lease.release();
  });

  it('writes wait the window while a lease is held, and not at all once it expired or was released', async () => {
    const clock = new StepClock();
    const writes = directoryA(clock);
    const bob = await entryId('bob@example.com');
    const b = new DirectoryReadLease({ db: dbB, nodeId: 'node-b-4', windowMs: WINDOW_MS, log, clock });
    await b.renew();
    // B "dies" holding its lease: each write waits the window (not the lease), until the lease's recorded expiry passes.
    let slept = clock.slept;
    await writes.adminUpdate(systemActor, bob, { title: 'Engineer II' });
    expect(clock.slept - slept).toBe(WINDOW_MS);
    await sql`update directory_read_leases set expires_at = clock_timestamp() where node_id = 'node-b-4'`.execute(server.app.db);
    slept = clock.slept;
    await writes.adminUpdate(systemActor, bob, { title: 'Engineer III' });
    expect(clock.slept).toBe(slept);

    // A node that shuts down releases its lease: writes stop waiting at once.
    const c = await nodeB(clock, 'node-b-5');
    slept = clock.slept;
    await writes.adminUpdate(systemActor, bob, { title: 'Engineer IV' });
    expect(clock.slept - slept).toBe(WINDOW_MS);
    await c.lease.release();
    slept = clock.slept;
    await writes.adminUpdate(systemActor, bob, { title: 'Engineer V' });
    expect(clock.slept).toBe(slept);
  });

  it('rows of nodes gone for more than a day are swept by a renewal after a lapse', async () => {
    await sql`insert into directory_read_leases (node_id, expires_at) values ('node-gone', clock_timestamp() - interval '25 hours'), ('node-recent', clock_timestamp() - interval '1 hour')`.execute(server.app.db);
    const lease = new DirectoryReadLease({ db: dbB, nodeId: 'node-b-6', windowMs: WINDOW_MS, log, clock: new StepClock() });
    await lease.renew();
    const { rows } = await sql<{ node_id: string }>`select node_id from directory_read_leases where node_id in ('node-gone', 'node-recent', 'node-b-6') order by node_id`.execute(server.app.db);
    expect(rows.map((r) => r.node_id)).toEqual(['node-b-6', 'node-recent']);
    await lease.release();
  });
});
