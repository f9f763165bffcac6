import { DAY, fieldsOf, localOf } from './local-time.ts';
import { iterateRule } from './rrule-iterate.ts';
import type { Rule } from './rrule.ts';
import { ianaNameForVtimezone, type Zone } from './timezones.ts';
import { chargeWork } from './work-budget.ts';

/**
 * A zone defined by an embedded VTIMEZONE (RFC 5545 §3.6.5). Each STANDARD or
 * DAYLIGHT observance has onsets (its DTSTART, RRULE and RDATEs, written in
 * the local time before the onset, i.e. with TZOFFSETFROM); the offset at an
 * instant is the TZOFFSETTO of the latest onset at or before it. Onsets are
 * computed a year at a time with the same RRULE engine as events, starting
 * near the year (so Outlook's 1601 rules cost nothing), and cached.
 */

export interface Observance {
  start: number; // local
  offsetFrom: number; // ms
  offsetTo: number; // ms
  rule: Rule | null;
  rdates: number[]; // local
}

interface Onset {
  utc: number;
  offset: number;
}

export class VtimezoneZone implements Zone {
  readonly iana: string | null;
  readonly name: string;
  private readonly years = new Map<number, Onset[]>();
  private readonly minYear: number;
  private readonly initialOffset: number;

  constructor(
    readonly tzid: string,
    private readonly observances: Observance[],
    licLocation: string | null,
  ) {
    this.iana = ianaNameForVtimezone(tzid, licLocation);
    this.name = this.iana ?? tzid;
    const first = [...observances].sort((a, b) => a.start - a.offsetFrom - (b.start - b.offsetFrom))[0];
    this.minYear = first ? fieldsOf(first.start).year - 1 : 0;
    this.initialOffset = first?.offsetFrom ?? 0;
  }

  offsetAt(utc: number): number {
    for (let year = fieldsOf(utc).year; year >= this.minYear; year--) {
      chargeWork(1); // a zone whose onsets lie far back walks many empty years
      const onsets = this.onsetsIn(year);
      for (let i = onsets.length - 1; i >= 0; i--) if (onsets[i]!.utc <= utc) return onsets[i]!.offset;
    }
    return this.initialOffset;
  }

  private onsetsIn(year: number): Onset[] {
    let onsets = this.years.get(year);
    if (onsets) return onsets;
    const from = localOf(year, 1, 1);
    const to = localOf(year + 1, 1, 1);
    onsets = [];
    chargeWork(this.observances.length);
    for (const o of this.observances) {
      const add = (local: number): void => {
        const utc = local - o.offsetFrom;
        if (utc >= from && utc < to) onsets!.push({ utc, offset: o.offsetTo });
      };
      if (o.rule) {
        const until = o.rule.until;
        const pastUntil = until ? (l: number) => (until.kind === 'utc' ? l - o.offsetFrom : l) > until.local : undefined;
        for (const local of iterateRule(o.rule, o.start, false, { fromLocal: from - 2 * DAY, toLocal: to + 2 * DAY, pastUntil })) {
          if (local > to + 2 * DAY) break;
          add(local);
        }
      } else {
        add(o.start);
      }
      for (const r of o.rdates) add(r);
    }
    onsets.sort((a, b) => a.utc - b.utc);
    this.years.set(year, onsets);
    return onsets;
  }
}
