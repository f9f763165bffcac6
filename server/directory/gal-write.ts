import type { Transaction } from 'kysely';
import { watchGroupAccess } from '../calendar/group-access.ts';
import type { Db } from '../db/database.ts';
import type { Database } from '../db/schema.ts';
import { galScope } from '../sync/scope-id.ts';
import { writeScopes, type ScopePublisher } from '../sync/scope-write.ts';

/**
 * One GAL write (DESIGN §4), a thin user of the sync core's writeScopes:
 * bumps the domain's scope first (its row lock serialises every writer of
 * this GAL until commit, which also makes the service's uniqueness and cycle
 * checks race-free), hands the new modseq to `work`, commits, then publishes
 * the hint. A `work` that throws NothingChanged rolls back and `unchanged`
 * answers: the scope does not move for a no-op. Calendar lists of people
 * whose group grants the write changed are updated in the same transaction
 * and published with it (calendar/group-access.ts).
 */
export async function writeGal<T>(
  db: Db,
  publish: ScopePublisher,
  domainId: string,
  work: (trx: Transaction<Database>, modseq: number) => Promise<T>,
  unchanged?: () => T,
): Promise<T> {
  const scope = galScope(domainId);
  return writeScopes(
    db,
    publish,
    async (writer) => {
      // Domains get their scope when created (and in the migration); this covers any made another way.
      await writer.create(scope);
      const modseq = await writer.bump(scope);
      const groupAccess = await watchGroupAccess(writer, domainId);
      const done = await work(writer.trx, modseq);
      // Lists bumped here are published after commit with the GAL's hint.
      if (groupAccess) await groupAccess();
      return done;
    },
    unchanged,
  );
}
