import { AnswerBudget } from '../answers/answer-budget.ts';
import { encodeValue, ErrorCode, FreeBusyLimits, packBusyPeriods, type BusyDetail, type Encoded, type MethodArgs, type MethodResult, type PrincipalFreeBusyWire } from '../../protocol/index.ts';
import { CalendarLimits, DAY_MS } from '../calendar/calendar-limits.ts';
import { eventsNotFullyIndexed } from '../calendar/event.repository.ts';
import type { CalendarEventRow } from '../calendar/event.table.ts';
import { workOwner } from '../calendar/ical-work/pool.ts';
import type { ExpandUnindexed } from '../calendar/sync-window.ts';
import { busyInstanceShows, type Lens } from '../calendar/privacy/index.ts';
import { resolveRightsOfMany, type CalendarAccess } from '../calendar/calendar-access.ts';
import { wallClockToInstant } from '../calendar/zoned-time.ts';
import type { Db } from '../db/database.ts';
import { DmciError } from '../errors.ts';
import { BUSY_RANK, BUSY_TYPE_OF_RANK, BusyEdges, NO_DATA_DIGIT, slotCount, slotString, type TimedBusy } from './busy-merge.ts';
import { busyRows, findPrincipalsWithContexts, groupLeaves, principalContexts, type CalendarBusyRows, type DomainFreeBusyRow, type PrincipalContext, type PrincipalEntry } from './freebusy.repository.ts';
import { freeBusyLensFor, type FreeBusyViewer } from './visibility.ts';
import { effectiveHours, renderHours, type Hours } from './working-hours.ts';

/**
 * FreeBusy/query (docs/protocol.md §Free/busy). In a fixed number of
 * round trips whatever the number of principals: the principals' GAL
 * entries with their domains' policies, working hours and counting
 * calendars (one query; groups' members and theirs in one more); the
 * viewer's rights on those calendars (resolveRightsOfMany), overlapped with
 * finding events the index does not fully hold; then the busy instances of
 * the calendars the viewer sees, index-only from the occurrence index
 * (busyRows, docs/decisions.md "FreeBusy/query speed"). Only instances the index does not hold (past its horizon, more than a
 * year back, or a series capped at its row limit) are expanded on the fly.
 */

export interface FreeBusyWindow {
  from: Date;
  to: Date;
  intervalMinutes: number;
}

/** The window the arguments ask for: defaults, order and the documented limits. */
export function queryWindow(args: { from?: string | undefined; to?: string | undefined; interval: number }, now: Date, principals: number): FreeBusyWindow {
  const intervalMs = args.interval * 60_000;
  const from = args.from ? new Date(args.from) : new Date(Math.floor(now.getTime() / intervalMs) * intervalMs);
  const to = args.to ? new Date(args.to) : new Date(from.getTime() + FreeBusyLimits.defaultWindowDays * DAY_MS);
  if (!(from < to)) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, '`from` must be before `to`');
  if (to.getTime() - from.getTime() > FreeBusyLimits.maxWindowDays * DAY_MS) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `a free/busy window covers at most ${FreeBusyLimits.maxWindowDays} days`, { details: { limit: FreeBusyLimits.maxWindowDays } });
  }
  const digits = slotCount(from.getTime(), to.getTime(), intervalMs) * principals;
  if (digits > FreeBusyLimits.maxSlotDigits) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `principals × slots may not exceed ${FreeBusyLimits.maxSlotDigits}: ask a longer interval or a shorter window`, {
      details: { limit: FreeBusyLimits.maxSlotDigits },
    });
  }
  return { from, to, intervalMinutes: args.interval };
}

/** A principal whose calendars are read: a person or resource asked, or a group's member. */
interface Leaf {
  entry: Omit<PrincipalEntry, 'asked'>;
  principal: string;
  via: string | null;
}

/** What free/busy knows of one leaf once read: the shown busy instances, or why none. */
export interface LeafFreeBusy {
  status: 'ok' | 'noData' | 'noRight' | 'notFound';
  view: 'time' | 'details' | null;
  periods: TimedBusy[];
  details: BusyDetail[];
  hours: Hours | null;
  outOfOffice: { from: Date; until: Date } | null;
}

export interface FreeBusyContext {
  db: Db;
  /** Expands what the occurrence index does not hold, in the calendar worker pool in `owner`'s turn (CalendarEventService.expandUnindexed). */
  expandUnindexed: (owner: string, ...rest: Parameters<ExpandUnindexed>) => ReturnType<ExpandUnindexed>;
}

/**
 * Reads free/busy of accounts-backed (or calendar-less) GAL entries for a
 * viewer over [from, to): the core shared by FreeBusy/query, suggestions and
 * the Internet free/busy door. `viewer.accountId` is null for anonymous readers and publishing-token holders.
 * `known`: contexts already read with the principals (findPrincipalsWithContexts); the rest are read here.
 */
export async function readFreeBusy(
  ctx: FreeBusyContext,
  viewer: FreeBusyViewer & { accountId: string | null },
  entries: ReadonlyArray<Omit<PrincipalEntry, 'asked'>>,
  from: Date,
  to: Date,
  known: ReadonlyMap<string, PrincipalContext> = new Map(),
): Promise<Map<string, LeafFreeBusy>> {
  const { db } = ctx;
  const missing = entries.filter((e) => !known.has(e.entry_id));
  const contexts = missing.length === 0 ? known : new Map([...known, ...(await principalContexts(db, missing))]);
  const calendarIds = entries.flatMap((e) => contexts.get(e.entry_id)!.calendars.map((c) => c.id));
  const zoneOfCalendar = new Map<string, string>();
  const hoursOf = new Map<string, Hours>();
  for (const entry of entries) {
    const context = contexts.get(entry.entry_id)!;
    const hours = effectiveHours(context.domain, context.availability).hours;
    hoursOf.set(entry.entry_id, hours);
    for (const calendar of context.calendars) zoneOfCalendar.set(calendar.id, hours.timeZone);
  }
  const slack = CalendarLimits.floatingSlackMs;
  const range = { from, to, wideFrom: new Date(from.getTime() - slack), wideTo: new Date(to.getTime() + slack) };
  // What the index holds and what it does not do not depend on rights: both are read while the rights are.
  const partlyIndexed = eventsNotFullyIndexed(db, calendarIds, range.wideFrom, range.wideTo);
  const timeRows = busyRows(db, calendarIds.map((id) => ({ id, named: false })), range, BUSY_ROWS_READ);
  const rightsOfViewer = viewer.accountId ? (await resolveRightsOfMany(db, [viewer.accountId], { calendarIds })).get(viewer.accountId)! : new Map<string, CalendarAccess>();
  const lensOf = new Map<string, Lens>();
  for (const entry of entries) {
    const context = contexts.get(entry.entry_id)!;
    for (const calendar of context.calendars) {
      const lens = freeBusyLensFor(viewer, rightsOfViewer.get(calendar.id), calendar.freebusy_visibility, context.domain);
      if (lens) lensOf.set(calendar.id, lens);
    }
  }
  // Only what calendars the viewer sees hold is kept; subject and location only of those shown at `details`.
  const shownCalendars = [...lensOf].map(([id, lens]) => ({ id, named: busyInstanceShows(lens, 'PUBLIC') === 'named' || busyInstanceShows(lens, 'PRIVATE') === 'named' }));
  const instances = await busyInstancesOf(
    ctx,
    viewer.accountId ? workOwner.account(viewer.accountId) : workOwner.anonymous,
    shownRows(db, timeRows, calendarIds.length, shownCalendars, range),
    partlyIndexed.then((events) => events.filter((e) => lensOf.has(e.calendar_id))),
    zoneOfCalendar,
    range,
  );

  const fromMs = from.getTime();
  const toMs = to.getTime();
  const out = new Map<string, LeafFreeBusy>();
  for (const entry of entries) {
    const { domain, availability, calendars: own } = contexts.get(entry.entry_id)!;
    const shown = own.filter((c) => lensOf.has(c.id));
    const sameDomain = viewer.kind === 'account' && viewer.domainId === entry.domain_id;
    if (own.length > 0 && shown.length === 0) {
      // Outside its own domain a principal nobody lets the viewer see is indistinguishable from none.
      out.set(entry.entry_id, empty(sameDomain ? 'noRight' : 'notFound'));
      continue;
    }
    if (own.length === 0 && !sameDomain && defaultHidden(viewer, domain)) {
      out.set(entry.entry_id, empty('notFound'));
      continue;
    }
    const oof = availability;
    const outOfOffice = oof?.oof_from && oof.oof_until && oof.oof_until > from && oof.oof_from < to ? { from: oof.oof_from, until: oof.oof_until } : null;
    if (own.length === 0) {
      out.set(entry.entry_id, { ...empty('noData'), hours: hoursOf.get(entry.entry_id)!, outOfOffice });
      continue;
    }
    const edges = new BusyEdges(fromMs, toMs);
    const details: BusyDetail[] = [];
    let view: 'time' | 'details' = 'time';
    for (const calendar of shown) {
      const lens = lensOf.get(calendar.id)!;
      if (lens.public === 'details' || lens.private === 'details') view = 'details';
      const busy = instances.get(calendar.id);
      if (!busy) continue;
      // The privacy policy decides per class; a calendar's instances have few classes.
      const showsOf = new Map<string, ReturnType<typeof busyInstanceShows>>();
      for (let i = 0; i < busy.start.length; i++) {
        const start = busy.start[i]!;
        const end = busy.end[i]!;
        // Zero-length instances block no time.
        if (!(start < end) || end <= fromMs || start >= toMs) continue;
        const classification = busy.classification[i]!;
        let shows = showsOf.get(classification);
        if (shows === undefined) showsOf.set(classification, (shows = busyInstanceShows(lens, classification)));
        if (shows === 'nothing') continue;
        const rank = busy.rank[i]!;
        edges.add(start, end, rank);
        if (shows === 'named') {
          details.push({ start: isoOf(start), end: isoOf(end), busyType: BUSY_TYPE_OF_RANK[rank]!, summary: busy.summary?.[i] ?? null, location: busy.location?.[i] ?? null });
        }
      }
    }
    details.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
    out.set(entry.entry_id, {
      status: 'ok',
      view,
      periods: edges.merged(),
      details,
      hours: hoursOf.get(entry.entry_id)!,
      outOfOffice,
    });
  }
  return out;
}

function empty(status: LeafFreeBusy['status']): LeafFreeBusy {
  return { status, view: null, periods: [], details: [], hours: null, outOfOffice: null };
}

/** Would a viewer of another domain (or anonymous) see nothing by default of this domain's members? */
function defaultHidden(viewer: FreeBusyViewer, domain: DomainFreeBusyRow): boolean {
  if (viewer.kind === 'published') return false;
  return (viewer.kind === 'anonymous' ? domain.freebusy_anonymous : domain.freebusy_external) === 'none';
}

/** Instances one read may return: one past the limit, to tell "over it" from "exactly at it". */
const BUSY_ROWS_READ = FreeBusyLimits.maxBusyInstances + 1;

type BusyRead = Awaited<ReturnType<typeof busyRows>>;

/**
 * The indexed busy instances of the calendars the viewer sees, from
 * `timeRows` (every counting calendar's, read time-only while the rights
 * were resolved: one round trip less than reading after them); calendars
 * shown at `details` are read again with subject and location. If the read
 * stopped at its limit while holding calendars the viewer does not see, only
 * those it sees are read again, so what the viewer cannot see never counts
 * toward the limit.
 */
async function shownRows(
  db: Db,
  timeRows: Promise<BusyRead>,
  calendarsRead: number,
  shown: ReadonlyArray<{ id: string; named: boolean }>,
  range: { from: Date; to: Date; wideFrom: Date; wideTo: Date },
): Promise<BusyRead> {
  const read = await timeRows;
  if (read.instances >= BUSY_ROWS_READ && shown.length < calendarsRead) return busyRows(db, shown, range, BUSY_ROWS_READ);
  const named = shown.filter((c) => c.named);
  const keep = new Set(shown.filter((c) => !c.named).map((c) => c.id));
  if (keep.size === calendarsRead) return read;
  const kept = read.calendars.filter((c) => keep.has(c.calendar_id));
  const again = named.length === 0 ? { calendars: [], instances: 0 } : await busyRows(db, named, range, BUSY_ROWS_READ);
  return { calendars: kept.concat(again.calendars), instances: kept.reduce((n, c) => n + c.start.length, again.instances) };
}

/**
 * The busy instances of each calendar, wall-clock ones placed in the owner's
 * zone (not yet clipped to the window); `owner` (workOwner): the reader's
 * turn of the worker pool; `indexed`: the shown calendars' instances from the
 * occurrence index; `unindexed`: the events the index does not fully hold.
 */
async function busyInstancesOf(
  ctx: FreeBusyContext,
  owner: string,
  indexed: Promise<BusyRead>,
  unindexed: Promise<CalendarEventRow[]>,
  zoneOf: Map<string, string>,
  range: { from: Date; to: Date; wideFrom: Date; wideTo: Date },
): Promise<Map<string, CalendarBusyRows>> {
  const [read, partlyIndexed] = await Promise.all([indexed, unindexed]);
  if (read.instances > FreeBusyLimits.maxBusyInstances) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `these calendars hold more than ${FreeBusyLimits.maxBusyInstances} busy instances in the window: ask fewer principals or a shorter window`, {
      details: { limit: FreeBusyLimits.maxBusyInstances },
    });
  }
  const out = new Map<string, CalendarBusyRows>();
  for (const busy of read.calendars) {
    out.set(busy.calendar_id, busy);
    if (!busy.wall.includes(true)) continue;
    const zone = zoneOf.get(busy.calendar_id)!;
    for (let i = 0; i < busy.start.length; i++) {
      if (!busy.wall[i]) continue;
      busy.start[i] = wallClockToInstant(new Date(busy.start[i]!), zone).getTime();
      busy.end[i] = wallClockToInstant(new Date(busy.end[i]!), zone).getTime();
    }
  }
  if (partlyIndexed.length === 0) return out;
  // Outside the index (past the horizon, over a year back, a capped series): expanded in the worker pool, off the event loop.
  const expanded = await ctx.expandUnindexed(owner, partlyIndexed, range.wideFrom, range.wideTo);
  for (const [i, event] of partlyIndexed.entries()) {
    const result = expanded[i]!;
    if (!result.ok) throw DmciError.fromBody(result.error);
    const zone = zoneOf.get(event.calendar_id)!;
    let busy = out.get(event.calendar_id);
    if (!busy) out.set(event.calendar_id, (busy = { calendar_id: event.calendar_id, start: [], end: [], rank: [], classification: [], wall: [], summary: [], location: [] }));
    for (const inst of result.instances) {
      if (inst.busyType === 'FREE') continue;
      const wall = inst.floating || inst.allDay;
      busy.start.push((wall ? wallClockToInstant(inst.start, zone) : inst.start).getTime());
      busy.end.push((wall ? wallClockToInstant(inst.end, zone) : inst.end).getTime());
      busy.rank.push(BUSY_RANK[inst.busyType]);
      busy.classification.push(inst.classification);
      busy.wall.push(false);
      // A calendar read without subjects (not shown `named`) keeps none of these either.
      busy.summary?.push(inst.summary);
      busy.location?.push(inst.location);
    }
  }
  return out;
}

/**
 * ISO 8601 of an instant, remembered: an answer's thousands of period edges
 * fall on few distinct instants (meetings start on the hour), so each is
 * formatted once. Bounded: forgets everything past ISO_MEMO_SIZE entries.
 */
const isoMemo = new Map<number, string>();
const ISO_MEMO_SIZE = 20_000;
export function isoOf(ms: number): string {
  let iso = isoMemo.get(ms);
  if (iso === undefined) {
    if (isoMemo.size >= ISO_MEMO_SIZE) isoMemo.clear();
    isoMemo.set(ms, (iso = new Date(ms).toISOString()));
  }
  return iso;
}

/** FreeBusy/query for an account viewer, encoded at once into a buffer of the size its budget counted. */
export async function queryFreeBusy(
  ctx: FreeBusyContext,
  viewer: { accountId: string; domainId: string },
  args: MethodArgs<'FreeBusy/query'>,
  now: Date,
): Promise<Encoded<MethodResult<'FreeBusy/query'>>> {
  const { answer, answerBytes } = await queryWithLeaves(ctx, viewer, args, now);
  return encodeValue(answer, Math.ceil(answerBytes * 1.02) + ANSWER_ENVELOPE_BYTES);
}

/**
 * Room for what the budget does not count: the answer's window and interval, and a few
 * bytes per principal (its period arrays' headers). An estimate short by one byte would
 * make the encoder double its buffer at the very end.
 */
const ANSWER_ENVELOPE_BYTES = 1024;

/** A principal of an answer whose calendars were read: a person or resource asked, or a group's member. */
export type QueriedLeaf = Leaf;

/** FreeBusy/query, and the principals whose calendars it read (what a watch follows). */
export async function queryWithLeaves(
  ctx: FreeBusyContext,
  viewer: { accountId: string; domainId: string },
  args: MethodArgs<'FreeBusy/query'>,
  now: Date,
): Promise<{ answer: MethodResult<'FreeBusy/query'>; answerBytes: number; window: FreeBusyWindow; leaves: Leaf[] }> {
  const asked = [...new Set(args.principals.map((p) => p.trim().toLowerCase()))];
  const window = queryWindow(args, now, asked.length);
  const { from, to } = window;
  const known = new Map<string, PrincipalContext>();
  const found = new Map<string, PrincipalEntry>();
  for (const { context, ...entry } of await findPrincipalsWithContexts(ctx.db, asked)) {
    found.set(entry.asked, entry);
    if (context) known.set(entry.entry_id, context);
  }

  // Groups of the viewer's own domain expand to their members (up to the cap); other domains' groups are not found.
  const groups = [...found.values()].filter((p) => p.kind === 'group' && p.domain_id === viewer.domainId);
  const membersOf = new Map<string, Array<Omit<PrincipalEntry, 'asked'>>>();
  for (const leaf of await groupLeaves(ctx.db, groups.map((g) => g.entry_id))) {
    const list = membersOf.get(leaf.root) ?? [];
    list.push(leaf);
    membersOf.set(leaf.root, list);
  }

  type Slot = { asked: string; entry?: PrincipalEntry; group?: { members: string[] | null; memberCount: number } };
  const order: Slot[] = [];
  const leaves = new Map<string, Leaf>();
  const addLeaf = (entry: Omit<PrincipalEntry, 'asked'>, principal: string, via: string | null): Leaf | undefined => {
    if (leaves.has(entry.entry_id)) return undefined;
    const leaf = { entry, principal, via };
    leaves.set(entry.entry_id, leaf);
    return leaf;
  };
  const expanded: Leaf[] = [];
  for (const email of asked) {
    const entry = found.get(email);
    if (!entry || (entry.kind === 'group' && entry.domain_id !== viewer.domainId)) {
      order.push({ asked: email });
    } else if (entry.kind === 'group') {
      const members = membersOf.get(entry.entry_id) ?? [];
      if (members.length > FreeBusyLimits.maxGroupMembers) {
        order.push({ asked: email, entry, group: { members: null, memberCount: members.length } });
      } else {
        order.push({ asked: email, entry, group: { members: members.map((m) => m.email), memberCount: members.length } });
        for (const member of members) {
          const leaf = addLeaf(member, member.email, email);
          if (leaf) expanded.push(leaf);
        }
      }
    } else {
      addLeaf(entry, email, null);
      order.push({ asked: email, entry });
    }
  }
  // Members asked for directly keep their own place; the rest follow the requested principals.
  const intervalMs = window.intervalMinutes * 60_000;
  const count = slotCount(from.getTime(), to.getTime(), intervalMs);
  const digits = count * (order.length + expanded.filter((l) => l.via !== null).length);
  if (digits > FreeBusyLimits.maxSlotDigits) {
    throw new DmciError(ErrorCode.LIMIT_EXCEEDED, `principals × slots may not exceed ${FreeBusyLimits.maxSlotDigits} (groups expanded): ask a longer interval or a shorter window`, {
      details: { limit: FreeBusyLimits.maxSlotDigits },
    });
  }
  const read = await readFreeBusy(ctx, { kind: 'account', domainId: viewer.domainId, accountId: viewer.accountId }, [...leaves.values()].map((l) => l.entry), from, to, known);

  const render = (principal: string, kind: PrincipalFreeBusyWire['kind'], via: string | null, fb: LeafFreeBusy) => renderPrincipal(principal, kind, via, fb, window);
  const notFound = (principal: string, via: string | null): PrincipalFreeBusyWire => render(principal, null, via, empty('notFound'));
  const principals: PrincipalFreeBusyWire[] = [];
  for (const slot of order) {
    if (!slot.entry) principals.push(notFound(slot.asked, null));
    else if (slot.group) {
      principals.push({ ...notFound(slot.asked, null), kind: 'group', status: slot.group.members ? 'groupExpanded' : 'tooMany', members: slot.group.members, memberCount: slot.group.memberCount });
    } else principals.push(render(slot.asked, slot.entry.kind, null, read.get(slot.entry.entry_id)!));
  }
  for (const leaf of expanded) principals.push(render(leaf.principal, leaf.entry.kind, leaf.via, read.get(leaf.entry.entry_id)!));
  const budget = new AnswerBudget();
  const answer = { from: from.toISOString(), to: to.toISOString(), interval: window.intervalMinutes, principals: withinAnswerBudget(principals, from.getTime(), budget) };
  return { answer, answerBytes: budget.usedBytes, window, leaves: [...leaves.values()] };
}

/** One principal's entry of a FreeBusy/query answer (and of a watch's push). */
export function renderPrincipal(principal: string, kind: PrincipalFreeBusyWire['kind'], via: string | null, fb: LeafFreeBusy, window: FreeBusyWindow): PrincipalFreeBusyWire {
  const intervalMs = window.intervalMinutes * 60_000;
  const from = window.from.getTime();
  const count = slotCount(from, window.to.getTime(), intervalMs);
  const shown = fb.status === 'ok' || fb.status === 'noData';
  return {
    principal,
    kind: fb.status === 'notFound' ? null : kind,
    status: fb.status,
    via,
    members: null,
    memberCount: null,
    view: fb.view,
    periods: packBusyPeriods(fb.periods, from),
    details: fb.details,
    slots: !shown ? null : fb.status === 'noData' ? NO_DATA_DIGIT.repeat(count) : slotString(fb.periods, from, intervalMs, count),
    workingHours: fb.hours ? renderHours(fb.hours) : null,
    outOfOffice: fb.outOfOffice ? { from: fb.outOfOffice.from.toISOString(), until: fb.outOfOffice.until.toISOString() } : null,
    cutAt: null,
  };
}

/**
 * Keeps a list of principal entries (an answer's, or a watch push's) within
 * `budget` (maxAnswerBytes, issue 7): every entry without its periods and
 * details first — bounded by the slot-digit and principal limits; past the
 * budget even so, LIMIT_EXCEEDED — then each entry's periods and details
 * together in time order, as far as they fit. An entry cut short keeps
 * exactly what starts before its `cutAt`; its slots stay complete.
 * `from`: the window's start, which packed periods are offsets from.
 */
export function withinAnswerBudget(principals: readonly PrincipalFreeBusyWire[], from: number, budget: AnswerBudget = new AnswerBudget()): PrincipalFreeBusyWire[] {
  for (const p of principals) budget.charge({ ...p, periods: { offsets: [], types: '' }, details: [] }, 'ask fewer principals or a shorter window');
  return principals.map((p) => {
    const { offsets, types } = p.periods;
    const detailStarts = p.details.map((d) => Date.parse(d.start));
    let i = 0;
    let j = 0;
    while (i < types.length || j < p.details.length) {
      // Periods first at equal starts: a cut then never splits one instant between the two lists.
      const isPeriod = j >= p.details.length || (i < types.length && from + offsets[2 * i]! <= detailStarts[j]!);
      if (!(isPeriod ? budget.fitsBytes(uintBytes(offsets[2 * i]!) + uintBytes(offsets[2 * i + 1]!) + 1) : budget.fits(p.details[j]))) {
        const cut = isPeriod ? from + offsets[2 * i]! : detailStarts[j]!;
        const periodsKept = isPeriod ? i : firstAtOrAfter(offsets, types.length, cut - from, i);
        return {
          ...p,
          periods: { offsets: offsets.slice(0, 2 * periodsKept), types: types.slice(0, periodsKept) },
          details: p.details.slice(0, j).filter((_, k) => detailStarts[k]! < cut),
          cutAt: isoOf(cut),
        };
      }
      if (isPeriod) i++;
      else j++;
    }
    return p;
  });
}

/** The first of the first `kept` packed periods starting at or after `offset`: those before it are what a cut keeps. */
function firstAtOrAfter(offsets: readonly number[], count: number, offset: number, kept: number): number {
  let k = Math.min(count, kept);
  while (k > 0 && offsets[2 * (k - 1)]! >= offset) k--;
  return k;
}

/** Bytes msgpack takes for a non-negative integer. */
function uintBytes(n: number): number {
  return n < 128 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : n < 4_294_967_296 ? 5 : 9;
}
