import { sql, type Kysely } from 'kysely';

/**
 * The account's language (issue 11: iMIP summaries "in the organizer's
 * language if set, else English"): a canonical BCP 47 tag or null (not set),
 * set by the account (Account/setPreferences) or an admin (Admin/accountUpdate,
 * `dmci user language`). Each outbox row keeps the language it is written in,
 * fixed when queued (as its Message-ID is), so a resend reads the same.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table accounts add column language text check (char_length(language) between 2 and 35)`.execute(db);
  await sql`alter table imip_outbox add column language text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`alter table imip_outbox drop column language`.execute(db);
  await sql`alter table accounts drop column language`.execute(db);
}
