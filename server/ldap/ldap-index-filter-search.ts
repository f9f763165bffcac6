import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { PreEncodedEntry } from './ldap-entry.ts';
import { planCandidates, TRUE, type IndexFilter, type IndexProbe } from './ldap-index-filter.ts';
import { changedEntry, ChangedEntryView, type IndexedEntry, type ProbeKeys, type Snapshot } from './ldap-index-snapshot.ts';

/**
 * Candidates larger than this share of the snapshot are not gathered and
 * sorted: walking the entries in id order and testing each finds the first
 * matches sooner (a size-limited search stops there), and the test includes
 * the lookup's own condition.
 */
const WALK_SHARE = 1 / 16;
/**
 * A `contains` lookup (`*ab*`) finding more keys than this stops and walks
 * instead: each found key costs a search call, and with that many matches
 * a size-limited walk finds its page within a few thousand entries, while
 * the scan would go on through the whole attribute.
 */
const CONTAINS_MOST_KEYS = 256;
/**
 * Entries tested between two turns of the event loop at most: a filter that
 * matches little walks the whole snapshot, and other connections must not wait
 * for it (nor may it outlive the search's time limit).
 */
export const TESTS_PER_TURN = 8_192;
/**
 * And at most this long between two turns: a filter's test costs as much as its
 * leaves (hundreds fit in DMCI_LDAP_MAX_FILTER_BYTES), and 8,192 tests of such a
 * filter held the loop ~0.9 s, so eight such searches at once made every other
 * LDAP search wait seconds. The clock is read every TESTS_PER_CLOCK_READ tests.
 */
export const TURN_MS = 2;
const TESTS_PER_CLOCK_READ = 64;

/** The search's time limit passed while testing entries. */
export class IndexDeadlineError extends Error {}

/**
 * Up to `limit` entries matching a compiled filter with ids after `after`, in
 * id order (the SQL path's order, so sizes limits and pages cut at the same
 * entries): the snapshot's entries, less those changed since, merged with the
 * changed entries' current forms. The snapshot's side starts from the
 * filter's key lookups when they are few, else walks every entry; either way
 * each candidate is tested with the whole filter, and nothing past the
 * limit is tested. Every TESTS_PER_TURN tests it yields to the event loop,
 * and throws IndexDeadlineError once `deadline` (ms since the epoch) passed.
 */
export async function findEntries(
  snapshot: Snapshot,
  current: ReadonlyMap<string, IndexedEntry | null>,
  filter: IndexFilter,
  after: string | undefined,
  limit: number,
  wanted: readonly boolean[],
  deadline: number,
  /** Milliseconds on a monotonic clock (tests drive their own). */
  clock: () => number = () => performance.now(),
): Promise<PreEncodedEntry[]> {
  const changed =
    current.size === 0
      ? []
      : [...current.values()]
          .filter((entry): entry is IndexedEntry => entry !== null && (after === undefined || entry.id > after) && filter.test(new ChangedEntryView(entry)) === TRUE)
          .sort((a, b) => (a.id < b.id ? -1 : 1));
  // The changed entries as of the search's start: catch-ups of later searches change the live map while this one yields.
  const held = { changes: current };
  const matches = snapshotMatches(snapshot, held, filter, after, clock);
  // Only a pause waits for the event loop: a match found within the turn costs no await.
  const afterPause = async (): Promise<number> => {
    for (;;) {
      if (Date.now() > deadline) throw new IndexDeadlineError('time limit reached while testing entries');
      if (held.changes === current && current.size > 0) held.changes = new Map(current);
      await yieldToLoop();
      const ordinal = matches();
      if (ordinal !== PAUSED) return ordinal;
    }
  };
  const next = (): number | Promise<number> => {
    const ordinal = matches();
    return ordinal === PAUSED ? afterPause() : ordinal;
  };
  const out: PreEncodedEntry[] = [];
  let c = 0;
  const first = limit > 0 ? next() : -1;
  let ordinal = typeof first === 'number' ? first : await first;
  while (out.length < limit) {
    const fromChanges = changed[c];
    if (ordinal < 0 && fromChanges === undefined) break;
    if (fromChanges === undefined || (ordinal >= 0 && snapshot.id(ordinal) < fromChanges.id)) {
      out.push(snapshot.entry(ordinal, wanted));
      if (out.length >= limit) break;
      const found = next();
      ordinal = typeof found === 'number' ? found : await found;
    } else {
      out.push(changedEntry(fromChanges, wanted));
      c++;
    }
  }
  return out;
}

/** What the snapshot's side answers after TESTS_PER_TURN tests or TURN_MS without a match: ask again after a turn of the loop. */
const PAUSED = -2;

/**
 * The snapshot's matching ordinals after `after`, ascending, one per call (-1
 * at the end, PAUSED after TESTS_PER_TURN tests or TURN_MS), skipping entries changed since.
 */
function snapshotMatches(snapshot: Snapshot, held: { changes: ReadonlyMap<string, IndexedEntry | null> }, filter: IndexFilter, after: string | undefined, clock: () => number): () => number {
  const first = after === undefined ? 0 : snapshot.firstAfter(after);
  // Each probe's keys are found once: sizing the plan and gathering its candidates use the same ones.
  const most = snapshot.count * WALK_SHARE;
  const found = new Map<IndexProbe, ProbeKeys>();
  const keysOf = (probe: IndexProbe) => {
    let keys = found.get(probe);
    if (keys === undefined) found.set(probe, (keys = snapshot.probeKeys(probe, Math.min(most, CONTAINS_MOST_KEYS))));
    return keys;
  };
  const plan = planCandidates(filter.candidates, (probe) => keysOf(probe).size);
  const candidates = plan && plan.total <= most ? snapshot.matching(plan.probes.map(keysOf)) : undefined;
  // Every candidate of an exact filter matches (its lookups are its whole condition): no test.
  const tested = !(candidates && filter.exact);
  const view = snapshot.view();
  // The next ordinal to look at: of the candidates, or of every entry.
  let at = first;
  const end = snapshot.count;
  let tests = 0;
  let turnStarted = 0;
  return () => {
    // A turn starts with the first call and after each pause (the caller yielded meanwhile).
    if (tests === 0) turnStarted = clock();
    while (at < end) {
      if (++tests > TESTS_PER_TURN || (tests % TESTS_PER_CLOCK_READ === 0 && clock() - turnStarted > TURN_MS)) {
        tests = 0;
        return PAUSED;
      }
      const ordinal = candidates ? candidates.next(at) : at;
      if (ordinal < 0) break;
      at = ordinal + 1;
      if (tested && filter.test(view.at(ordinal)) !== TRUE) continue;
      // An entry changed since the snapshot is answered in its changed form (or not at all).
      if (held.changes.size > 0 && held.changes.has(snapshot.id(ordinal))) continue;
      return ordinal;
    }
    at = end;
    return -1;
  };
}
