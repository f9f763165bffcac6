import type { FreeBusyVisibility } from '../calendar/calendar.table.ts';
import { freeBusyDefaultLens, freeBusyLens, widerLens, type Lens, type Viewer } from '../calendar/privacy/index.ts';
import type { DomainFreeBusyRow } from './freebusy.repository.ts';

/**
 * Which free/busy lens a viewer gets on one calendar (DESIGN §6). Two sources,
 * the wider wins:
 * - a grant (direct or through a group): the privacy policy's freeBusyLens of
 *   the viewer's right — `freebusy` time only, `details` and up subject and
 *   location of public instances, the owner and private delegates of all;
 * - the default visibility: the calendar's override by its owner, else its
 *   domain's setting for members; a viewer of another domain gets at most
 *   what the owner's domain allows other domains, an anonymous one at most
 *   what it allows anonymously; the holder of the owner's publishing token
 *   (Internet free/busy) time only, unless the calendar is hidden (`none`).
 * A default of `details` shows subject and location of PUBLIC instances only.
 */

/** An account; nobody (anonymous Internet free/busy); or the holder of the owner's publishing token. */
export type FreeBusyViewer = { kind: 'account'; domainId: string } | { kind: 'anonymous' } | { kind: 'published' };

const RANK: Record<FreeBusyVisibility, number> = { none: 0, time: 1, details: 2 };

export function lowerVisibility(a: FreeBusyVisibility, b: FreeBusyVisibility): FreeBusyVisibility {
  return RANK[a] <= RANK[b] ? a : b;
}

/** The default visibility the viewer gets on a calendar of the owner's domain (no grant considered). */
export function defaultVisibility(viewer: FreeBusyViewer, calendarOverride: FreeBusyVisibility | null, owner: DomainFreeBusyRow): FreeBusyVisibility {
  const base = calendarOverride ?? owner.freebusy_internal;
  if (viewer.kind === 'anonymous') return lowerVisibility(base, owner.freebusy_anonymous);
  // The owner published its free/busy (time only), except calendars it hides from everyone.
  if (viewer.kind === 'published') return lowerVisibility(calendarOverride ?? 'time', 'time');
  return viewer.domainId === owner.id ? base : lowerVisibility(base, owner.freebusy_external);
}

/** The lens, or null when the viewer sees nothing of the calendar's free/busy. */
export function freeBusyLensFor(viewer: FreeBusyViewer, grant: Viewer | undefined, calendarOverride: FreeBusyVisibility | null, owner: DomainFreeBusyRow): Lens | null {
  const granted = grant ? freeBusyLens(grant) : null;
  return widerLens(granted, freeBusyDefaultLens(defaultVisibility(viewer, calendarOverride, owner)));
}
