import type { AccessRight } from '../calendar.table.ts';

/**
 * The privacy policy's decisions (DESIGN §6). What a viewer sees of an event
 * depends on two things only: the viewer's rights on the calendar, reduced
 * to a Lens (how much of a PUBLIC component, how much of a PRIVATE or
 * CONFIDENTIAL one), and the CLASS of each component. Every path that shows
 * events — get, changes, query, push, and free/busy, LDAP and logs when they
 * come — asks these functions, and renders with ./render.ts.
 *
 * Levels: `full` (the stored object), `details` (time, busy status, subject,
 * location), `time` (time and busy status), `none` (nothing).
 */

export type Right = AccessRight | 'owner';
export type ViewLevel = 'full' | 'details' | 'time' | 'none';

/** What the policy needs of a viewer: the right (highest of its grants) and whether it may read private events. */
export interface Viewer {
  right: Right;
  /** The owner, or a delegate granted private access. */
  mayReadPrivate: boolean;
}

/** How much of a PUBLIC and of a non-public component the viewer sees. Viewers with equal lenses see every event alike. */
export interface Lens {
  readonly public: ViewLevel;
  readonly private: ViewLevel;
}

const RIGHT_RANK: Record<Right, number> = { freebusy: 1, details: 2, read: 3, write: 4, manage: 5, owner: 6 };
const LEVEL_RANK: Record<ViewLevel, number> = { none: 0, time: 1, details: 2, full: 3 };

export function rightRank(right: Right): number {
  return RIGHT_RANK[right];
}

export function hasRight(viewer: Pick<Viewer, 'right'>, needed: Right): boolean {
  return RIGHT_RANK[viewer.right] >= RIGHT_RANK[needed];
}

/** The higher of two rights ("the highest of several grants wins"). */
export function higherRight(a: Right, b: Right): Right {
  return RIGHT_RANK[a] >= RIGHT_RANK[b] ? a : b;
}

export function lowerLevel(a: ViewLevel, b: ViewLevel): ViewLevel {
  return LEVEL_RANK[a] <= LEVEL_RANK[b] ? a : b;
}

/**
 * The lens of event paths (get, changes, query, push). `freebusy` sees no
 * events there (only FreeBusy's merged intervals); `details` sees subject and
 * location of public events; `read` and up see public events in full. Private
 * and confidential components show only their time, except to the owner and
 * delegates with private access, who see them like public ones.
 */
export function eventLens(viewer: Viewer): Lens {
  const pub: ViewLevel = hasRight(viewer, 'read') ? 'full' : hasRight(viewer, 'details') ? 'details' : 'none';
  return { public: pub, private: viewer.mayReadPrivate || pub === 'none' ? pub : 'time' };
}

/**
 * The lens of free/busy answers (FreeBusy/query, next): never more than
 * `details` — merged busy intervals, with subject and location of public
 * instances for viewers with `details` or more; time only for `freebusy`.
 */
export function freeBusyLens(viewer: Viewer): Lens {
  const events = eventLens(viewer);
  return { public: events.public === 'none' ? 'time' : lowerLevel(events.public, 'details'), private: events.private === 'none' ? 'time' : lowerLevel(events.private, 'details') };
}

/** RFC 5545 §3.8.1.3: an unknown class is treated as PRIVATE. */
export function isPublic(classification: string): boolean {
  return classification === 'PUBLIC';
}

/** The level at which a component (or instance) of this CLASS is shown through the lens. */
export function levelOf(lens: Lens, classification: string): ViewLevel {
  return isPublic(classification) ? lens.public : lens.private;
}

/** Classifications from least to most restrictive; an object is as private as its most private component. */
const CLASS_RANK: Record<string, number> = { PUBLIC: 0, PRIVATE: 1, CONFIDENTIAL: 2 };
export function mostRestrictive(classes: readonly string[]): string {
  let result = 'PUBLIC';
  for (const c of classes) if ((CLASS_RANK[c] ?? 1) > (CLASS_RANK[result] ?? 0)) result = CLASS_RANK[c] === undefined ? 'PRIVATE' : c;
  return result;
}

/** Push groups followers by this key and encodes one frame per key: equal keys must mean equal renderings. */
export function lensKey(lens: Lens): string {
  return `${lens.public}/${lens.private}`;
}

export function lensOfKey(key: string): Lens {
  const [pub, priv] = key.split('/') as [ViewLevel, ViewLevel];
  if (!(pub in LEVEL_RANK) || !(priv in LEVEL_RANK)) throw new Error(`not a view key: ${key}`);
  return { public: pub, private: priv };
}
