import { sql, type Kysely } from 'kysely';

/**
 * The order of the iMIP outbox per recipient and meeting (issue 11): an
 * attendee moved from the series to some occurrences gets the CANCEL of the
 * series and then the REQUEST of their occurrences, and the receiver must
 * see them in that order (the other way round, the CANCEL would remove the
 * occurrences too). `seq` numbers rows as queued; the sender claims a row
 * only when no earlier row to the same recipient about the same UID is still
 * pending (outbox.repository.ts claimDue).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table imip_outbox add column seq bigint generated always as identity`.execute(db);
  await sql`create index imip_outbox_pending_order on imip_outbox (recipient, uid, seq) where state = 'pending'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index imip_outbox_pending_order`.execute(db);
  await sql`alter table imip_outbox drop column seq`.execute(db);
}
