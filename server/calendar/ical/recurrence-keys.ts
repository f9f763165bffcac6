import { readRecurrenceId, seriesContextOf, type SeriesContext } from './event.ts';
import { prop, subs, text, type JComp } from './jcal.ts';
import { zoneResolver } from './parse.ts';

/**
 * Which occurrence a component of a VCALENDAR is about, as one key whatever
 * way its RECURRENCE-ID is written: '' for the master, else the canonical
 * recurrence id (ParsedEvent.recurrenceId, the form the occurrence index and
 * CalendarEvent/query report). Outlook writes RECURRENCE-ID with the
 * master's TZID, Google in UTC, some clients as a DATE; RFC 5545 wants the
 * value type of DTSTART but each of these names the same occurrence, and
 * scheduling (answers, overrides, cancels per occurrence) must match them.
 *
 * For texts already validated (the parser would have refused an unknown
 * TZID); works on a parsed jCal root, so callers parse once.
 */
export interface RecurrenceKeyer {
  /** The occurrence key of a component ('' for the master). */
  ridOf(c: JComp): string;
  /** An override's DTSTART in the same terms: equal to its key when the override does not move its occurrence. */
  startOf(c: JComp): string;
}

export function recurrenceKeyer(root: JComp): RecurrenceKeyer {
  const vtimezones = new Map<string, JComp>();
  for (const tz of subs(root, 'vtimezone')) {
    const tzid = text(tz, 'tzid');
    if (tzid) vtimezones.set(tzid, tz);
  }
  const resolve = zoneResolver(vtimezones, new Set());
  // On first use: it resolves the master's zone through its VTIMEZONE (a dense one costs
  // milliseconds, on the event loop), and most callers only meet masters, whose key is ''.
  let series: SeriesContext | null | undefined;
  const seriesContext = () => {
    if (series === undefined) {
      const master = subs(root, 'vevent').find((c) => !prop(c, 'recurrence-id'));
      series = master ? seriesContextOf(master, resolve) : null;
    }
    return series;
  };
  return {
    ridOf(c) {
      const p = prop(c, 'recurrence-id');
      return p ? readRecurrenceId(p, 'RECURRENCE-ID', resolve, seriesContext()).text : '';
    },
    startOf(c) {
      const p = prop(c, 'dtstart');
      return p ? readRecurrenceId(p, 'DTSTART', resolve, seriesContext()).text : '';
    },
  };
}
