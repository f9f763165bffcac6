import { sql, type Kysely } from 'kysely';

/**
 * `visibility_modseq`: the GAL modseq at which an entry last became visible
 * or invisible to readers (null: created invisible and never shown). The GAL
 * change log reports an invisible entry as destroyed only if this moved
 * after the reader's state, so an admin editing an entry that stays hidden
 * no longer pushes its id to every reader of the domain (issue 7 §10).
 *
 * A trigger keeps it, so every writer (admin methods, account hooks,
 * imports, the CLI) is covered without each having to remember it. The
 * expression restates `visible` because generated columns are not yet
 * computed in BEFORE triggers. Existing rows start at their modseq: they are
 * reported as before.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table directory_entries add column visibility_modseq bigint`.execute(db);
  await sql`update directory_entries set visibility_modseq = modseq`.execute(db);
  await sql`
    create function directory_entries_visibility_modseq() returns trigger language plpgsql as $$
    begin
      if tg_op = 'INSERT' then
        new.visibility_modseq := case when not new.hidden and not new.account_disabled and not new.deleted then new.modseq end;
      elsif (not new.hidden and not new.account_disabled and not new.deleted) is distinct from (not old.hidden and not old.account_disabled and not old.deleted) then
        new.visibility_modseq := new.modseq;
      else
        new.visibility_modseq := old.visibility_modseq;
      end if;
      return new;
    end $$`.execute(db);
  await sql`
    create trigger directory_entries_visibility_modseq before insert or update on directory_entries
      for each row execute function directory_entries_visibility_modseq()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop trigger directory_entries_visibility_modseq on directory_entries`.execute(db);
  await sql`drop function directory_entries_visibility_modseq()`.execute(db);
  await sql`alter table directory_entries drop column visibility_modseq`.execute(db);
}
