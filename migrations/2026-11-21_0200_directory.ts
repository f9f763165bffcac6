import { sql, type Kysely } from 'kysely';

/**
 * The Global Address List (issue 4): one directory per domain, synced through
 * the sync scope `gal:<domainId>` (DESIGN §4).
 *
 * - directory_entries: people (account-backed or external contacts), groups
 *   (distribution lists) and resources (rooms, equipment). Every write bumps
 *   the domain's GAL scope first and stamps the rows it touches with that
 *   modseq; a delete leaves a tombstone (deleted = true) until the pruning job
 *   removes it and raises the scope's min_modseq.
 * - `visible` is the one predicate every reader (protocol, LDAP, export) uses:
 *   not hidden by an admin, not a disabled account, not deleted.
 * - Prefix searches use btree indexes on lower(column) with text_pattern_ops,
 *   so `lower(col) like 'ab%'` is an index range scan in any database locale.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('directory_entries')
    .addColumn('id', 'uuid', (c) => c.primaryKey().defaultTo(sql`gen_random_uuid()`))
    .addColumn('domain_id', 'uuid', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('person', 'group', 'resource')`))
    // Account-backed people; set null keeps the entry (and its tombstone) if an account row ever goes.
    .addColumn('account_id', 'uuid', (c) => c.unique().references('accounts.id').onDelete('set null'))
    // Import identity when there is no email (e.g. an LDIF DN); unique per domain among live rows.
    .addColumn('source_key', 'text')
    .addColumn('email', 'text', (c) => c.check(sql`email = lower(email)`))
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('given_name', 'text')
    .addColumn('surname', 'text')
    .addColumn('title', 'text')
    .addColumn('department', 'text')
    .addColumn('company', 'text')
    .addColumn('office', 'text')
    .addColumn('business_phone', 'text')
    .addColumn('mobile_phone', 'text')
    .addColumn('manager_id', 'uuid', (c) => c.references('directory_entries.id').onDelete('set null'))
    .addColumn('photo', 'bytea', (c) => c.check(sql`octet_length(photo) <= 102400`))
    .addColumn('photo_type', 'text', (c) => c.check(sql`photo_type in ('image/jpeg', 'image/png')`))
    // A hash of the photo, so clients refetch it only when it changed.
    .addColumn('photo_etag', 'text')
    .addColumn('hidden', 'boolean', (c) => c.notNull().defaultTo(false))
    // Mirrors accounts.enabled (kept by the account hooks) so readers need no join.
    .addColumn('account_disabled', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('resource_type', 'text', (c) => c.check(sql`resource_type in ('room', 'equipment')`))
    .addColumn('capacity', 'integer', (c) => c.check(sql`capacity >= 0`))
    .addColumn('location', 'text')
    .addColumn('modseq', 'bigint', (c) => c.notNull())
    // The modseq that created the row: /changes reports it as created (not updated) to a client older than this.
    .addColumn('created_modseq', 'bigint')
    .addColumn('deleted', 'boolean', (c) => c.notNull().defaultTo(false))
    .addColumn('deleted_at', 'timestamptz')
    .addColumn('visible', 'boolean', (c) => c.generatedAlwaysAs(sql`not hidden and not account_disabled and not deleted`).stored().notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addCheckConstraint('directory_entries_resource_fields', sql`kind = 'resource' or (resource_type is null and capacity is null)`)
    .addCheckConstraint('directory_entries_account_person', sql`account_id is null or kind = 'person'`)
    .addCheckConstraint('directory_entries_tombstone', sql`deleted = (deleted_at is not null)`)
    .execute();

  await sql`create unique index directory_entries_domain_email on directory_entries (domain_id, email) where email is not null and not deleted`.execute(db);
  await sql`create unique index directory_entries_domain_source_key on directory_entries (domain_id, source_key) where source_key is not null and not deleted`.execute(db);
  await sql`create index directory_entries_changes on directory_entries (domain_id, modseq, id)`.execute(db);
  await sql`create index directory_entries_manager on directory_entries (manager_id) where manager_id is not null`.execute(db);
  await sql`create index directory_entries_tombstones on directory_entries (deleted_at) where deleted`.execute(db);
  // Browsing in display-name order without a search text.
  await sql`create index directory_entries_browse on directory_entries (domain_id, lower(display_name), id)`.execute(db);
  for (const column of ['display_name', 'given_name', 'surname', 'email', 'department']) {
    await sql`create index ${sql.raw(`directory_entries_prefix_${column}`)} on directory_entries (domain_id, lower(${sql.ref(column)}) text_pattern_ops)`.execute(db);
  }

  await db.schema
    .createTable('directory_aliases')
    .addColumn('domain_id', 'uuid', (c) => c.notNull().references('domains.id').onDelete('cascade'))
    .addColumn('alias', 'text', (c) => c.notNull().check(sql`alias = lower(alias)`))
    .addColumn('entry_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('directory_aliases_pk', ['domain_id', 'alias'])
    .execute();
  await sql`create index directory_aliases_entry on directory_aliases (entry_id)`.execute(db);
  await sql`create index directory_aliases_prefix on directory_aliases (domain_id, alias text_pattern_ops)`.execute(db);

  await db.schema
    .createTable('directory_members')
    .addColumn('group_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addColumn('member_id', 'uuid', (c) => c.notNull().references('directory_entries.id').onDelete('cascade'))
    .addPrimaryKeyConstraint('directory_members_pk', ['group_id', 'member_id'])
    .addCheckConstraint('directory_members_not_self', sql`group_id <> member_id`)
    .execute();
  await sql`create index directory_members_member on directory_members (member_id)`.execute(db);

  // Existing domains get their GAL scope, and existing accounts their entries, stamped modseq 1.
  await sql`insert into sync_scopes (id) select 'gal:' || id from domains on conflict (id) do nothing`.execute(db);
  await sql`
    insert into directory_entries (domain_id, kind, account_id, email, display_name, account_disabled, modseq, created_modseq)
    select domain_id, 'person', id, email, display_name, not enabled, 1, 1 from accounts`.execute(db);
  await sql`
    update sync_scopes set modseq = greatest(modseq, 1)
    where id in (select distinct 'gal:' || domain_id from accounts)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('directory_members').execute();
  await db.schema.dropTable('directory_aliases').execute();
  await db.schema.dropTable('directory_entries').execute();
  await sql`delete from sync_scopes where id like 'gal:%'`.execute(db);
}
