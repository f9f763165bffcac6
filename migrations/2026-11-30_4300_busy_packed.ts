import { sql, type Kysely } from 'kysely';
import { up as createBusyIndexes } from './2026-11-30_3700_busy_index.ts';

/**
 * Free/busy's per-instance bytes stored with the instance (issue 9,
 * FreeBusy/query speed; docs/decisions.md "FreeBusy/query speed").
 *
 * `busy_packed` is what freebusy.repository.ts's busyRows returns for each
 * busy instance — start and end as float8 epoch milliseconds, then an int2 of
 * flags (busy digit | class << 2 | wall clock << 4), 18 bytes — computed by
 * PostgreSQL when the row is written instead of on every read: computing it
 * per row at read time (two date_parts, three CASEs, the concatenation) took
 * about as long as the index scans themselves. Null for free instances, which
 * free/busy never reads. The busy indexes carry it in their INCLUDE, so a
 * calendar's busy time is still one index-only range scan.
 *
 * The epoch is taken of the UTC wall clock (`at time zone 'UTC'`): the same
 * number as the epoch of the timestamptz, through functions PostgreSQL marks
 * immutable, as a stored generated column requires. `lower(during)`, not
 * during_start: a generated column may not read another.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    alter table event_instances add column busy_packed bytea generated always as (
      case when busy_type <> 'FREE' then
        float8send(date_part('epoch', lower(during) at time zone 'UTC') * 1000)
        || float8send(date_part('epoch', upper(during) at time zone 'UTC') * 1000)
        || int2send(((case busy_type when 'BUSY-TENTATIVE' then 1 when 'BUSY-UNAVAILABLE' then 3 else 2 end)
                     + 4 * (case classification when 'PUBLIC' then 0 when 'CONFIDENTIAL' then 2 else 1 end)
                     + 16 * (floating or all_day)::int)::int2)
      end) stored`.execute(db);
  await sql`drop index event_instances_long_busy`.execute(db);
  await sql`drop index event_instances_busy`.execute(db);
  await sql`
    create index event_instances_busy on event_instances (calendar_id, during_start)
      include (during, floating, all_day, busy_packed)
     where busy_type <> 'FREE'`.execute(db);
  await sql`
    create index event_instances_long_busy on event_instances (calendar_id, upper(during))
      include (during_start, during, floating, all_day, busy_packed)
     where busy_type <> 'FREE' and upper(during) - lower(during) > interval '1 day'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index event_instances_long_busy`.execute(db);
  await sql`drop index event_instances_busy`.execute(db);
  await sql`alter table event_instances drop column busy_packed`.execute(db);
  // The indexes as migration 3700 made them.
  await createBusyIndexes(db);
}
