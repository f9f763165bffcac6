import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { findAccountByEmail, insertResumeToken } from '../../server/accounts/account.repository.ts';
import { createLogger } from '../../server/log/logger.ts';
import { resumeTokenPruneJob } from '../../server/maintenance.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Issue 7 §10: resume-token rows that can never be redeemed again (expired,
 * or revoked by a disabled account or a password change) are pruned by the
 * maintenance job instead of lingering for the token's whole lifetime.
 */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  for (const name of ['live', 'expired', 'disabled', 'changed']) await server.createAccount(`${name}@prune.test`);
});
afterAll(() => server?.stop());

async function tokenFor(name: string, expiresInMs: number): Promise<void> {
  const account = (await findAccountByEmail(server.app.db, `${name}@prune.test`))!;
  await insertResumeToken(server.app.db, { token_hash: randomBytes(32), account_id: account.id, session_id: `s-${name}`, client_name: 'test', expires_at: new Date(Date.now() + expiresInMs) });
}

it('removes expired tokens and those of disabled accounts or issued before a password change, and keeps the rest', async () => {
  const db = server.app.db;
  await sql`delete from resume_tokens`.execute(db);
  await tokenFor('live', 3_600_000);
  await tokenFor('expired', -1_000);
  await tokenFor('disabled', 3_600_000);
  await tokenFor('changed', 3_600_000);
  // Changed behind the services' back (which would have deleted the tokens themselves).
  await sql`update accounts set enabled = false where email = 'disabled@prune.test'`.execute(db);
  await sql`update accounts set password_changed_at = now() + interval '1 second' where email = 'changed@prune.test'`.execute(db);

  await resumeTokenPruneJob.run(db, createLogger('silent'));

  const left = await sql<{ session_id: string }>`select session_id from resume_tokens order by session_id`.execute(db);
  expect(left.rows.map((r) => r.session_id)).toEqual(['s-live']);
});
