import { ErrorCode, FreeBusyLimits, type Availability, type MeetingSuggestion, type MethodArgs, type MethodResult } from '../../protocol/index.ts';
import { DAY_MS } from '../calendar/calendar-limits.ts';
import { DmciError } from '../errors.ts';
import { BUSY_RANK as RANK, type TimedBusy } from './busy-merge.ts';
import { readFreeBusy, type FreeBusyContext, type LeafFreeBusy } from './freebusy-query.ts';
import { findPrincipals, roomsWithCapacity, type PrincipalEntry } from './freebusy.repository.ts';
import { workingIntervals } from './working-hours.ts';

/**
 * FreeBusy/suggest (docs/protocol.md §Free/busy): candidate starts every
 * `granularity` minutes from `from`; a candidate must lie inside the working
 * hours of every required attendee whose hours are known (each in their own
 * zone) and, when rooms are asked for, have one of them free. Its confidence
 * is Graph findMeetingTimes' idea: the weighted share of attendees likely to
 * come — free 1, tentative or unknown 0.5, busy or out of office 0; required
 * attendees weigh 1, optional ones 0.5. The answer is ranked by confidence,
 * then start. Free/busy is read once, through readFreeBusy, so suggestions
 * see exactly what FreeBusy/query shows the caller.
 */

const WEIGHT = { required: 1, optional: 0.5 } as const;
const LIKELIHOOD: Record<Availability, number> = { free: 1, tentative: 0.5, unknown: 0.5, busy: 0, outOfOffice: 0 };
const BY_RANK: Availability[] = ['free', 'tentative', 'busy', 'outOfOffice'];

interface Span {
  start: number;
  end: number;
}

/** One attendee's or room's free/busy, ready for many slot probes. */
class Timeline {
  private readonly periods: TimedBusy[];
  private readonly hours: Span[] | null;
  private readonly oof: Span | null;

  constructor(
    readonly principal: string,
    private readonly fb: LeafFreeBusy | undefined,
    from: number,
    to: number,
  ) {
    this.periods = fb?.periods ?? [];
    this.oof = fb?.outOfOffice ? { start: fb.outOfOffice.from.getTime(), end: fb.outOfOffice.until.getTime() } : null;
    this.hours = fb?.hours ? joinAdjacent(workingIntervals(fb.hours, from, to)) : null;
  }

  get known(): boolean {
    return this.fb?.status === 'ok';
  }

  availability(start: number, end: number): Availability {
    if (!this.known) return 'unknown';
    if (this.oof && this.oof.start < end && this.oof.end > start) return 'outOfOffice';
    let rank = 0;
    for (let i = firstEndingAfter(this.periods, start); i < this.periods.length && this.periods[i]!.start < end; i++) rank = Math.max(rank, RANK[this.periods[i]!.busyType]);
    return BY_RANK[rank]!;
  }

  /** Inside working hours; true when the hours are unknown (nobody to ask). */
  inWorkingHours(start: number, end: number): boolean {
    if (!this.hours) return true;
    const i = firstEndingAfter(this.hours, start);
    return i < this.hours.length && this.hours[i]!.start <= start && this.hours[i]!.end >= end;
  }
}

/** Index of the first span ending after `t` (spans sorted and disjoint). */
function firstEndingAfter(spans: readonly Span[], t: number): number {
  let lo = 0;
  let hi = spans.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (spans[mid]!.end > t) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Working days that touch (…–24:00, 00:00–…) make one span, so a meeting may cross midnight. */
function joinAdjacent(spans: Span[]): Span[] {
  const out: Span[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && last.end >= s.start) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

export async function suggestMeetingTimes(
  ctx: FreeBusyContext,
  viewer: { accountId: string; domainId: string },
  args: MethodArgs<'FreeBusy/suggest'>,
): Promise<MethodResult<'FreeBusy/suggest'>> {
  const from = new Date(args.from).getTime();
  const to = new Date(args.to).getTime();
  if (!(from < to)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, '`from` must be before `to`');
  if (to - from > FreeBusyLimits.maxSuggestWindowDays * DAY_MS) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a suggestion window covers at most ${FreeBusyLimits.maxSuggestWindowDays} days`, { details: { limit: FreeBusyLimits.maxSuggestWindowDays } });
  }
  const norm = (list: readonly string[]) => [...new Set(list.map((p) => p.trim().toLowerCase()))];
  const required = norm(args.required);
  const optional = norm(args.optional).filter((p) => !required.includes(p));
  if (required.length + optional.length > FreeBusyLimits.maxSuggestAttendees) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `at most ${FreeBusyLimits.maxSuggestAttendees} attendees`, { details: { limit: FreeBusyLimits.maxSuggestAttendees } });
  }
  const durationMs = args.duration * 60_000;
  if (durationMs > to - from) return { suggestions: [], emptyReason: 'windowTooShort', unknown: [] };

  const named = norm(args.rooms);
  const found = new Map((await findPrincipals(ctx.db, [...required, ...optional, ...named])).map((p) => [p.asked, p]));
  const byCapacity = args.anyRoom ? await roomsWithCapacity(ctx.db, viewer.domainId, args.anyRoom.minCapacity, FreeBusyLimits.maxSuggestRooms) : [];
  const roomEmails = [...new Set([...named, ...byCapacity.map((r) => r.email)])];
  const entries = new Map<string, Omit<PrincipalEntry, 'asked'>>();
  for (const email of [...required, ...optional, ...named]) {
    const entry = found.get(email);
    // Groups are not attendees here: name their members.
    if (entry && entry.kind !== 'group') entries.set(email, entry);
  }
  for (const room of byCapacity) entries.set(room.email, room);
  const read = await readFreeBusy(ctx, { kind: 'account', domainId: viewer.domainId, accountId: viewer.accountId }, [...new Map([...entries.values()].map((e) => [e.entry_id, e])).values()], new Date(from), new Date(to));
  const timeline = (email: string) => new Timeline(email, entries.has(email) ? read.get(entries.get(email)!.entry_id) : undefined, from, to);
  const attendees = [...required.map((p) => ({ t: timeline(p), required: true })), ...optional.map((p) => ({ t: timeline(p), required: false }))];
  const rooms = roomEmails.map(timeline);
  const roomsAsked = named.length > 0 || args.anyRoom !== undefined;

  const candidates: MeetingSuggestion[] = [];
  let inHours = false;
  let withRoom = false;
  const step = args.granularity * 60_000;
  for (let start = from; start + durationMs <= to; start += step) {
    const end = start + durationMs;
    if (!attendees.every((a) => !a.required || a.t.inWorkingHours(start, end))) continue;
    inHours = true;
    const freeRooms = rooms.filter((r) => r.availability(start, end) === 'free').map((r) => r.principal);
    if (roomsAsked && freeRooms.length === 0) continue;
    withRoom = true;
    let weight = 0;
    let likely = 0;
    const seen = attendees.map((a) => {
      const availability = a.t.availability(start, end);
      const w = a.required ? WEIGHT.required : WEIGHT.optional;
      weight += w;
      likely += w * LIKELIHOOD[availability];
      return { principal: a.t.principal, required: a.required, availability };
    });
    const confidence = Math.round((10_000 * likely) / weight) / 100;
    if (confidence < args.minimumConfidence) continue;
    candidates.push({ start: new Date(start).toISOString(), end: new Date(end).toISOString(), confidence, attendees: seen, rooms: freeRooms });
  }
  candidates.sort((a, b) => b.confidence - a.confidence || (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const suggestions = candidates.slice(0, args.maxSuggestions);
  const emptyReason = suggestions.length > 0 ? null : !inHours ? 'outsideWorkingHours' : !withRoom ? 'roomsUnavailable' : 'attendeesUnavailable';
  const unknown = [...attendees.map((a) => a.t), ...rooms].filter((t) => !t.known).map((t) => t.principal);
  return { suggestions, emptyReason, unknown };
}
