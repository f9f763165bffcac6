import type { ParsedCalendarObject } from '../calendar/ical/index.ts';
import { prop, subs, values } from '../calendar/ical/jcal.ts';
import { parseRoot } from '../scheduling/itip.ts';

/**
 * RECURRENCE-ID values as a message writes them → the canonical form the
 * occurrence index uses (zones resolved, Windows names too), from the parse
 * of the same text (`obj`, whose overrides are in the text's order). Empty
 * when the text cannot be read: the caller refuses it as malformed.
 */
export function canonicalRids(ics: string, obj: ParsedCalendarObject | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  try {
    const written = subs(parseRoot(ics), 'vevent')
      .map((e) => prop(e, 'recurrence-id'))
      .filter((p) => p !== undefined)
      .map((p) => String(values(p)[0]));
    obj.overrides.forEach((o, i) => {
      if (o.recurrenceId && written[i] !== undefined) out.set(written[i], o.recurrenceId);
    });
  } catch {
    // An unreadable text: nothing is mapped.
  }
  return out;
}
