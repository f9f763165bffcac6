import type { CalendarEvent, EventInstance } from '../../../protocol/index.ts';
import type { CalendarEventRow } from '../event.table.ts';
import type { IndexedInstance } from '../instance.repository.ts';
import { levelOf, type Lens } from './policy.ts';
import { opaqueUid, redactIcs } from './redact-ics.ts';

/**
 * The rendering half of the privacy policy: the ONLY functions that turn a
 * stored event or instance into what a viewer receives. Callers pass the
 * viewer's lens (policy.ts) and skip what comes back null.
 */

/** A live event row as the lens shows it (CalendarEvent/get, /changes, push). */
export function renderEvent(row: CalendarEventRow, lens: Lens): CalendarEvent | null {
  // `classification` is the object's most restrictive class: at `full` through it, every component is `full`.
  const whole = levelOf(lens, row.classification);
  const shown = whole === 'full' ? { ics: row.ics!, view: whole, uid: null } : redactIcs(row.ics!, row.id, lens);
  if (!shown || shown.view === 'none') return null;
  return {
    id: row.id,
    calendarId: row.calendar_id,
    uid: shown.uid ?? row.uid,
    version: row.version,
    view: shown.view,
    ics: shown.ics,
    recurring: row.recurring,
    firstStart: row.first_start!.toISOString(),
    lastEnd: row.last_end ? row.last_end.toISOString() : null,
  };
}

/**
 * One instance as the lens shows it (CalendarEvent/query): at the level of
 * its own component's class; subject and location at `details` and `full`.
 * The real UID only when the viewer sees the whole object in full, as
 * renderEvent does.
 */
export function renderInstance(row: IndexedInstance, lens: Lens): EventInstance | null {
  const level = levelOf(lens, row.classification);
  if (level === 'none') return null;
  const named = level === 'full' || level === 'details';
  return {
    calendarId: row.calendar_id,
    eventId: row.event_id,
    uid: levelOf(lens, row.event_classification) === 'full' ? row.uid : opaqueUid(row.event_id),
    recurrenceId: row.recurrence_id,
    start: row.start_at.toISOString(),
    end: row.end_at.toISOString(),
    startLocal: row.start_local,
    endLocal: row.end_local,
    tzid: row.tzid,
    allDay: row.all_day,
    floating: row.floating,
    busyType: row.busy_type as EventInstance['busyType'],
    transparent: row.transparent,
    status: row.status,
    isOverride: row.is_override,
    view: level,
    summary: named ? row.summary : null,
    location: named ? row.location : null,
  };
}

/**
 * What free/busy (server/freebusy/) shows of a busy instance of this class
 * through a free/busy lens (policy.ts freeBusyLens, freeBusyDefaultLens):
 * nothing, its time and busy type, or those with subject and location
 * (`named`, at `details` for its own class). Nothing else of an instance
 * exists in a free/busy answer (no UID, attendees or description), so
 * nothing else can leak. Answers render thousands of instances of few
 * classes: FreeBusy/query asks once per calendar and class and copies only
 * what this allows.
 */
export function busyInstanceShows(lens: Lens, classification: string): 'nothing' | 'time' | 'named' {
  const level = levelOf(lens, classification);
  return level === 'none' ? 'nothing' : level === 'details' || level === 'full' ? 'named' : 'time';
}
