import type { ParsedCalendarObject } from '../calendar/ical/index.ts';
import { prop, subs, values } from '../calendar/ical/jcal.ts';
import { recurrenceKeyer } from '../calendar/ical/recurrence-keys.ts';
import { parseRoot } from '../scheduling/itip.ts';

/**
 * RECURRENCE-ID values as a message writes them → the canonical form the
 * occurrence index uses (zones resolved, Windows names too, UTC or DATE
 * forms alike), through the scheduler's one recurrence keyer. `obj` is the
 * parse of the same text: null (unparsable) maps nothing, and so does a text
 * the keyer cannot read; the caller refuses it as malformed.
 */
export function canonicalRids(ics: string, obj: ParsedCalendarObject | null): Map<string, string> {
  const out = new Map<string, string>();
  if (!obj) return out;
  try {
    const root = parseRoot(ics);
    const keyer = recurrenceKeyer(root);
    for (const component of subs(root, 'vevent')) {
      const written = prop(component, 'recurrence-id');
      if (written) out.set(String(values(written)[0]), keyer.ridOf(component));
    }
  } catch {
    // An unreadable text: nothing is mapped.
  }
  return out;
}
