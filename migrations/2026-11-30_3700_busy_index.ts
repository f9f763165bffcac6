import { sql, type Kysely } from 'kysely';

/**
 * Free/busy reads busy time through btrees on the stored start instead of one
 * GiST probe per calendar (issue 9, FreeBusy/query speed; docs/decisions.md).
 *
 * - `event_instances_busy`: the non-free instances by (calendar_id,
 *   during_start), covering what a time-only view needs (the range, busy type,
 *   class, wall-clock flags), so a calendar's busy time in a window is one
 *   index-only range scan over a few adjacent leaf pages rather than a heap
 *   page per instance. The scan reaches back a fixed look-back (one day)
 *   before the window for instances that started earlier and still run.
 * - `event_instances_long_busy`: the few instances longer than that look-back
 *   (multi-day blocks, out-of-office weeks), by (calendar_id, upper(during)):
 *   those still running when the window opens. Its predicate must stay the
 *   one freebusy.repository.ts writes (LONG_BUSY).
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    create index event_instances_busy on event_instances (calendar_id, during_start)
      include (during, busy_type, classification, floating, all_day)
     where busy_type <> 'FREE'`.execute(db);
  await sql`
    create index event_instances_long_busy on event_instances (calendar_id, upper(during))
      include (during_start, during, busy_type, classification, floating, all_day)
     where busy_type <> 'FREE' and upper(during) - lower(during) > interval '1 day'`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`drop index event_instances_long_busy`.execute(db);
  await sql`drop index event_instances_busy`.execute(db);
}
