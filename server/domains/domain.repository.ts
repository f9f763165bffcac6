import type { Db } from '../db/database.ts';

export async function insertDomain(db: Db, name: string) {
  return db.insertInto('domains').values({ name }).returningAll().executeTakeFirstOrThrow();
}

export async function findDomainByName(db: Db, name: string) {
  return db.selectFrom('domains').selectAll().where('name', '=', name).executeTakeFirst();
}

export async function findDomainById(db: Db, id: string) {
  return db.selectFrom('domains').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function listDomainsWithCounts(db: Db, onlyId?: string) {
  let query = db
    .selectFrom('domains')
    .leftJoin('accounts', 'accounts.domain_id', 'domains.id')
    .select(['domains.id', 'domains.name', 'domains.created_at', 'domains.cross_domain_sharing', 'domains.calendar_attendant'])
    .select((eb) => eb.fn.count<number>('accounts.id').as('account_count'))
    .groupBy('domains.id')
    .orderBy('domains.name');
  if (onlyId) query = query.where('domains.id', '=', onlyId);
  return query.execute();
}

/** Changes the given settings of a domain (the others stay). */
export async function setDomainSettings(db: Db, id: string, settings: { cross_domain_sharing?: boolean; calendar_attendant?: boolean }): Promise<void> {
  if (Object.keys(settings).length === 0) return;
  await db.updateTable('domains').set(settings).where('id', '=', id).execute();
}
