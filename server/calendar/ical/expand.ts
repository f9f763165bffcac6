import { tooBig } from './errors.ts';
import { DAY, dayOf, formatIsoLocal } from './local-time.ts';
import { canonicalRid, endOf, type EventModel, type ObjectModel } from './model.ts';
import { countEndEstimate, iterateRule } from './rrule-iterate.ts';
import { isoInZone, toLocal, toUtc } from './timezones.ts';
import type { IcalLimits, Instance } from './types.ts';
import { chargeWork, isBudgetError } from './work-budget.ts';

/**
 * The recurrence set of one object (RFC 5545 §3.8.5): DTSTART, RRULE and
 * RDATE instances minus EXDATE, with overrides replacing the instance their
 * RECURRENCE-ID names and RANGE=THISANDFUTURE overrides shifting every later
 * instance the way they shift their own. An override always yields its own
 * instance, even when its RECURRENCE-ID matches no generated instance:
 * dropping data a client sent would be worse than showing it.
 */

interface Raw {
  /** Numeric recurrence id (model.ts); its text form is made only for returned instances. */
  rid: number;
  /** Text form when already known (overrides). */
  ridText: string | null;
  start: number;
  end: number;
  model: EventModel;
  isOverride: boolean;
}

/** Slack around a window so instances starting before it (long ones, shifted ones) are still seen. */
const ZONE_SLACK = 2 * DAY;

function durationOf(m: EventModel): number {
  return m.duration.kind === 'exact' ? m.duration.ms : m.duration.days * DAY + m.duration.ms + DAY;
}

function pastUntilFor(master: EventModel): ((local: number) => boolean) | undefined {
  const until = master.rule?.until;
  if (!until) return undefined;
  if (until.kind === 'utc') return (local) => toUtc(master.zone, local) > until.local;
  // A DATE UNTIL on a timed series keeps the whole day (senders mean "until and including that day").
  if (until.kind === 'date' && master.kind !== 'date') return (local) => dayOf(local) > dayOf(until.local);
  return (local) => local > until.local;
}

export interface VisitOptions {
  /** Work budget of the RRULE iteration (rrule-iterate.ts). */
  maxSteps?: number;
  /** Stop the RRULE part after this many visited instances (RDATEs and overrides are still visited). */
  maxRuleVisits?: number;
}

/**
 * Calls `visit` for every instance overlapping [from, to), in no particular
 * order; `visit` returns false to stop early.
 */
export function forEachInstance(model: ObjectModel, from: number, to: number, visit: (r: Raw) => boolean | void, options: VisitOptions = {}): void {
  const { maxSteps, maxRuleVisits = Infinity } = options;
  const overlaps = (start: number, end: number): boolean => start < to && (end > from || (end === start && start >= from));
  const exact = new Set(model.overrides.map((o) => o.rid));
  const ranges = model.overrides.filter((o) => o.event.thisAndFuture).sort((a, b) => a.rid! - b.rid!);
  const master = model.master;

  if (master) {
    const shifts = ranges.map((r) => Math.abs(r.startUtc - r.rid!) + durationOf(r));
    const slack = Math.max(durationOf(master), ...shifts) + ZONE_SLACK;
    const excluded = (rid: number): boolean =>
      master.exdates.has(rid) || (master.exdateDays.size > 0 && master.exdateDays.has(dayOf(toLocal(master.zone, rid))));
    let visited = 0;
    const emit = (rid: number, periodEnd: number | null): boolean | void => {
      const result = emitOne(rid, periodEnd);
      if (result !== undefined) visited++;
      return result;
    };
    const emitOne = (rid: number, periodEnd: number | null): boolean | void => {
      chargeWork(1);
      if (excluded(rid) || exact.has(rid)) return;
      let range: EventModel | undefined;
      for (const r of ranges) if (r.rid! <= rid) range = r;
      if (range) {
        // Shift the way the THISANDFUTURE override shifted its own instance, in wall-clock time.
        const shift = toLocal(master.zone, range.startUtc) - toLocal(master.zone, range.rid!);
        const start = toUtc(master.zone, toLocal(master.zone, rid) + shift);
        const end = start + (range.event.end.getTime() - range.startUtc);
        if (overlaps(start, end)) return visit({ rid, ridText: null, start, end, model: range, isOverride: true }) ?? true;
        return;
      }
      const end = periodEnd ?? endOf(master.duration, master.zone, rid, toLocal(master.zone, rid));
      if (overlaps(rid, end)) return visit({ rid, ridText: null, start: rid, end, model: master, isOverride: false }) ?? true;
    };

    const rdateRids = new Set(master.rdates.map((r) => r.rid));
    for (const r of master.rdates) {
      if (r.rid >= from - slack && r.rid < to + slack && emit(r.rid, r.end) === false) return;
    }
    if (master.rule) {
      const isDate = master.kind === 'date';
      let prev = NaN;
      let visits = 0;
      const opts = {
        ...(Number.isFinite(from) ? { fromLocal: from - slack } : {}),
        ...(Number.isFinite(to) ? { toLocal: to + slack } : {}),
        ...(maxSteps === undefined ? {} : { maxSteps }),
        pastUntil: pastUntilFor(master),
      };
      for (const local of iterateRule(master.rule, master.startLocal, isDate, opts)) {
        if (local > to + slack) break;
        const rid = toUtc(master.zone, local);
        // Two wall-clock values can name one instant next to a DST gap; an instance is listed once.
        if (rid === prev || rdateRids.has(rid)) continue;
        prev = rid;
        const before = visited;
        if (emit(rid, null) === false) return;
        if (visited > before && ++visits >= maxRuleVisits) break;
      }
    } else if (!rdateRids.has(master.startUtc) && emit(master.startUtc, null) === false) {
      return;
    }
  }

  for (const o of model.overrides) {
    const start = o.startUtc;
    const end = o.event.end.getTime();
    if (overlaps(start, end) && visit({ rid: o.rid!, ridText: o.event.recurrenceId!, start, end, model: o, isOverride: true }) === false) return;
  }
}

function toInstance(r: Raw, master: EventModel | null): Instance {
  const m = r.model;
  const e = m.event;
  return {
    recurrenceId: r.ridText ?? canonicalRid(r.rid, master!.kind),
    start: new Date(r.start),
    end: new Date(r.end),
    startLocal: e.allDay ? formatIsoLocal(r.start, true) : isoInZone(m.zone, r.start, false),
    endLocal: isoInZone(m.zone, r.end, e.allDay),
    tzid: e.tzid,
    allDay: e.allDay,
    floating: e.floating,
    busyType: e.busyType,
    transparent: e.transparent,
    status: e.status,
    classification: e.classification,
    isOverride: r.isOverride,
    summary: e.summary,
    location: e.location,
  };
}

export function expandModel(model: ObjectModel, from: Date, to: Date, limits: IcalLimits): Instance[] {
  const raws: Raw[] = [];
  forEachInstance(model, from.getTime(), to.getTime(), (r) => {
    raws.push(r);
    if (raws.length > limits.maxInstancesPerExpansion) {
      throw tooBig(`expansion yields more than ${limits.maxInstancesPerExpansion} instances; ask for a smaller window`);
    }
  });
  raws.sort((a, b) => a.start - b.start || a.rid - b.rid);
  return raws.map((r) => toInstance(r, model.master));
}

/** Work allowed when computing an object's bounds at parse time; beyond it the series counts as unbounded. */
const BOUNDS_STEPS = 100_000;
const PERIOD_MS: Record<string, number> = { YEARLY: 366 * DAY, MONTHLY: 31 * DAY, WEEKLY: 7 * DAY, DAILY: DAY, HOURLY: DAY / 24, MINUTELY: 60_000, SECONDLY: 1000 };

function latestEnd(model: ObjectModel, from: number): number | null {
  let lastEnd = -Infinity;
  forEachInstance(model, from, Infinity, (r) => void (lastEnd = Math.max(lastEnd, r.end)), { maxSteps: BOUNDS_STEPS });
  return Number.isFinite(lastEnd) ? lastEnd : null;
}

export function seriesBounds(model: ObjectModel): { firstStart: number; lastEnd: number | null } {
  let firstStart = Infinity;
  // RRULE instances come in order, so the first few hold the earliest (THISANDFUTURE shifts are monotonic too).
  forEachInstance(model, -Infinity, Infinity, (r) => void (firstStart = Math.min(firstStart, r.start)), { maxRuleVisits: 2 });
  const master = model.master;
  if (!Number.isFinite(firstStart)) firstStart = master?.startUtc ?? Math.min(...model.overrides.map((o) => o.startUtc));

  const rule = master?.rule;
  if (rule && rule.count === null && rule.until === null) return { firstStart, lastEnd: null };
  try {
    // With UNTIL (and no COUNT) the last instances lie just before it: look there first, widening.
    // Any instance overlapping [from, ∞) ends after everything that does not, so a hit is the answer.
    // Likewise for a COUNT rule whose end can be estimated (iteration then skips whole periods up to the window).
    const anchor = !rule ? null : rule.count === null ? (rule.until?.local ?? null) : countEndEstimate(rule, master!.startLocal, master!.kind === 'date');
    if (rule && anchor !== null) {
      const until = anchor + 2 * DAY;
      for (let span = 2 * rule.interval * PERIOD_MS[rule.freq]! + 2 * DAY, i = 0; i < 8; i++, span *= 4) {
        const found = latestEnd(model, until - span);
        if (found !== null) return { firstStart, lastEnd: found };
      }
    }
    return { firstStart, lastEnd: latestEnd(model, -Infinity) ?? firstStart };
  } catch (e) {
    // Too long to walk within BOUNDS_STEPS: unbounded. A spent work budget is the caller's to report.
    if (e instanceof Error && 'code' in e && e.code === 'LIMIT_EXCEEDED' && !isBudgetError(e)) return { firstStart, lastEnd: null };
    throw e;
  }
}
