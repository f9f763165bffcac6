import type { ParsedCalendarObject } from './ical/index.ts';
import type { EventColumns } from './event.repository.ts';
import { mostRestrictive } from './privacy/index.ts';

/** The columns stored beside the text (the index bounds are set by the index writer). */
export function columnsOf(obj: ParsedCalendarObject): EventColumns {
  const components = [...(obj.master ? [obj.master] : []), ...obj.overrides];
  return {
    uid: obj.uid,
    ics: obj.text,
    summary: components[0]?.summary ?? null,
    first_start: obj.firstStart,
    last_end: obj.lastEnd,
    recurring: obj.recurring,
    classification: mostRestrictive(components.map((c) => c.classification)),
    expanded_from: null,
    expanded_until: null,
  };
}
