import { sql } from 'kysely';
import type { Db } from '../db/database.ts';
import { PREPARED } from '../db/prepared-statements.ts';
import type { AccountUpdate, NewAccountRow } from './account.table.ts';
import { escapeLike } from '../directory/search/string-prep.ts';

const accountColumns = [
  'accounts.id',
  'accounts.domain_id',
  'accounts.email',
  'accounts.display_name',
  'accounts.password_hash',
  'accounts.enabled',
  'accounts.role',
  'accounts.language',
  'accounts.password_changed_at',
  'accounts.created_at',
  'accounts.updated_at',
  'domains.name as domain_name',
] as const;

function withDomain(db: Db) {
  return db.selectFrom('accounts').innerJoin('domains', 'domains.id', 'accounts.domain_id').select(accountColumns);
}
export type AccountWithDomain = NonNullable<Awaited<ReturnType<typeof findAccountByEmail>>>;

export async function findAccountByEmail(db: Db, email: string) {
  return withDomain(db).where('accounts.email', '=', email.toLowerCase()).executeTakeFirst();
}

export async function findAccountById(db: Db, id: string) {
  return withDomain(db).where('accounts.id', '=', id).executeTakeFirst();
}

export async function insertAccount(db: Db, row: NewAccountRow) {
  return db.insertInto('accounts').values(row).returning('id').executeTakeFirstOrThrow();
}

export async function updateAccount(db: Db, id: string, changes: AccountUpdate) {
  await db
    .updateTable('accounts')
    .set({ ...changes, updated_at: sql`now()` })
    .where('id', '=', id)
    .execute();
}

/** Stores a new hash and returns the new password_changed_at (the database's clock). */
export async function setPasswordHash(db: Db, id: string, passwordHash: string): Promise<Date> {
  const row = await db
    .updateTable('accounts')
    .set({ password_hash: passwordHash, password_changed_at: sql<Date>`clock_timestamp()`, updated_at: sql<Date>`now()` })
    .where('id', '=', id)
    .returning('password_changed_at')
    .executeTakeFirstOrThrow();
  return row.password_changed_at;
}

export async function listAccounts(db: Db, filter: { domainId?: string | undefined; after?: string | undefined; limit: number; search?: string | undefined }) {
  let query = withDomain(db).orderBy('accounts.email').limit(filter.limit + 1);
  if (filter.domainId) query = query.where('accounts.domain_id', '=', filter.domainId);
  if (filter.search) {
    // A substring of the email or the display name (the console's search box); LIKE's wildcards in it match themselves.
    const pattern = `%${escapeLike(filter.search)}%`;
    query = query.where((eb) => eb.or([eb('accounts.email', 'ilike', pattern), eb('accounts.display_name', 'ilike', pattern)]));
  }
  if (filter.after) query = query.where('accounts.email', '>', filter.after);
  const rows = await query.execute();
  return { rows: rows.slice(0, filter.limit), hasMore: rows.length > filter.limit };
}

/** Of the given accounts, those that must lose their sessions: disabled, or password changed since `since`. */
export async function findRevokedAccounts(db: Db, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('accounts').select(['id', 'enabled', 'password_changed_at']).where('id', 'in', [...ids]).execute();
}

/**
 * What an account may do right now: role, enabled state, domain and password
 * change time. Read for every request of a privileged session and every LDAP
 * search of a privileged binding, so a demotion or a disable holds at once on
 * every node and every door.
 */
export async function readPrivileges(db: Db, id: string) {
  // Prepared: the LDAP door reads it for every bound connection many times a second.
  return db.selectFrom('accounts').modifyFront(sql.raw(PREPARED)).select(['role', 'enabled', 'domain_id', 'password_changed_at']).where('id', '=', id).executeTakeFirst();
}

// ---- resume tokens ----

export async function insertResumeToken(db: Db, row: { token_hash: Buffer; account_id: string; session_id: string; client_name: string; expires_at: Date }) {
  await db.insertInto('resume_tokens').values(row).execute();
}

/** An unexpired token, left in place. */
export async function findResumeToken(db: Db, tokenHash: Buffer) {
  return db.selectFrom('resume_tokens').selectAll().where('token_hash', '=', tokenHash).where('expires_at', '>', sql<Date>`now()`).executeTakeFirst();
}

/**
 * Removes an unexpired token and returns it, in one statement: of two
 * concurrent redemptions of the same token only one gets the row.
 */
export async function takeResumeToken(db: Db, tokenHash: Buffer) {
  return db.deleteFrom('resume_tokens').where('token_hash', '=', tokenHash).where('expires_at', '>', sql<Date>`now()`).returningAll().executeTakeFirst();
}

export async function deleteResumeTokensOfSession(db: Db, accountId: string, sessionId: string) {
  await db.deleteFrom('resume_tokens').where('account_id', '=', accountId).where('session_id', '=', sessionId).execute();
}

export async function deleteResumeTokensOf(db: Db, accountId: string) {
  await db.deleteFrom('resume_tokens').where('account_id', '=', accountId).execute();
}

/**
 * Deletes every token that can no longer be redeemed: expired, of a disabled
 * or deleted-password account, or issued before the account's last password
 * change. Revocation deletes tokens at once; this catches any a crash, a
 * manual database edit or an older node left behind, so no dead secret hash
 * lingers for the whole TTL.
 */
export async function deleteDeadResumeTokens(db: Db) {
  const result = await db
    .deleteFrom('resume_tokens')
    .where((eb) =>
      eb.or([
        eb('expires_at', '<=', sql<Date>`now()`),
        eb.exists(
          eb
            .selectFrom('accounts')
            .select('accounts.id')
            .whereRef('accounts.id', '=', 'resume_tokens.account_id')
            .where((a) => a.or([a('accounts.enabled', '=', false), a('accounts.password_changed_at', '>', a.ref('resume_tokens.created_at'))])),
        ),
      ]),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
