import { z } from 'zod';
import { DomainName, EmailAddress } from './admin.ts';
import { defineMethod } from './define.ts';

/**
 * Free/busy (docs/protocol.md §Free/busy): many people's and rooms'
 * availability in one call, their working hours and out-of-office periods,
 * and the settings behind them. What a viewer sees goes through the one
 * privacy policy: `time` (merged busy periods only) or `details` (plus the
 * subject and location of public instances); never attendees, descriptions
 * or UIDs.
 */

const IsoDateTime = z.iso.datetime({ offset: true });
const Id = z.guid();

/** Limits of the free/busy methods; the defaults are part of the contract (docs/protocol.md §Free/busy). */
export const FreeBusyLimits = {
  /** Principals (emails) in one FreeBusy/query. */
  maxPrincipals: 100,
  /** Members a GAL group expands to (nested groups included); a larger group answers `tooMany`. */
  maxGroupMembers: 100,
  /** The window when `from`/`to` are omitted: from now (floored to the interval) for this many days. */
  defaultWindowDays: 7,
  /** The longest window (Outlook's Scheduling Assistant asks up to 42 days). */
  maxWindowDays: 62,
  /** Slot length in minutes: smallest, largest, default. */
  minInterval: 5,
  maxInterval: 1440,
  defaultInterval: 30,
  /** Slot digits in one answer (principals × slots): more is refused; ask a coarser interval or fewer days. */
  maxSlotDigits: 600_000,
  /**
   * Busy instances one query (or suggestion, or watch update) may read from
   * the occurrence index, all principals together: past it, LIMIT_EXCEEDED
   * (ask fewer principals or a shorter window). 100 people with 16 busy
   * instances a day for 62 days; bounds the memory one request holds.
   */
  maxBusyInstances: 100_000,
  /** FreeBusy/suggest: attendees (required + optional), rooms named, rooms found by capacity, suggestions. */
  maxSuggestAttendees: 100,
  maxSuggestRooms: 50,
  maxSuggestions: 50,
  defaultSuggestions: 10,
  /** FreeBusy/suggest: the longest window and meeting. */
  maxSuggestWindowDays: 62,
  maxMeetingMinutes: 1440,
} as const;

/** How much a viewer without a grant sees: nothing, busy time only, or time with subject and location. */
export const FreeBusyVisibility = z.enum(['none', 'time', 'details']);
export type FreeBusyVisibility = z.infer<typeof FreeBusyVisibility>;

const ClockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00 to 23:59');
const EndClockTime = z.string().regex(/^(([01]\d|2[0-3]):[0-5]\d|24:00)$/, 'HH:MM, 00:01 to 24:00');

/** Working hours: ISO weekdays (1 = Monday … 7 = Sunday), a start and end in the zone's local time (end after start), an IANA zone. */
export const WorkingHours = z.strictObject({
  days: z.array(z.number().int().min(1).max(7)).max(7),
  start: ClockTime,
  end: EndClockTime,
  timeZone: z.string().min(1).max(64),
});
export type WorkingHours = z.infer<typeof WorkingHours>;

export const OutOfOffice = z.strictObject({ from: IsoDateTime, until: IsoDateTime });
export type OutOfOffice = z.infer<typeof OutOfOffice>;

/** Busy types by precedence: out of office > busy > tentative. Free time is not listed. */
export const BusyType = z.enum(['BUSY-UNAVAILABLE', 'BUSY', 'BUSY-TENTATIVE']);
export type BusyType = z.infer<typeof BusyType>;

/** A merged busy period as a client library hands it to its callers (unpacked from BusyPeriodsWire). */
export const BusyPeriod = z.strictObject({ start: z.string(), end: z.string(), busyType: BusyType });
export type BusyPeriod = z.infer<typeof BusyPeriod>;

/**
 * A principal's merged busy periods as they travel (protocol/busy-periods.ts):
 * `offsets` two per period (start, end) in milliseconds from the answer's
 * `from`, `types` one EWS digit per period (1 tentative, 2 busy, 3 out of
 * office). An answer holds thousands of periods; as maps with ISO strings they
 * were two thirds of its bytes and most of its encoding time.
 */
export const BusyPeriodsWire = z.strictObject({ offsets: z.array(z.number().int().nonnegative()), types: z.string() });
export type BusyPeriodsWire = z.infer<typeof BusyPeriodsWire>;

/** One busy instance a `details` viewer may name (public instances only, unless the viewer may read private ones). */
export const BusyDetail = z.strictObject({ start: z.string(), end: z.string(), busyType: BusyType, summary: z.string().nullable(), location: z.string().nullable() });
export type BusyDetail = z.infer<typeof BusyDetail>;

export const PrincipalStatus = z.enum(['ok', 'noData', 'notFound', 'noRight', 'tooMany', 'groupExpanded']);
export type PrincipalStatus = z.infer<typeof PrincipalStatus>;

export const PrincipalFreeBusy = z.strictObject({
  /** The email as asked (lower-cased), or a group member's email. */
  principal: z.string(),
  kind: z.enum(['person', 'resource', 'group']).nullable(),
  status: PrincipalStatus,
  /** For a group's member: the group it was expanded from. */
  via: z.string().nullable(),
  /** For `groupExpanded`: the members' emails (they follow as their own entries); for `tooMany`: null. */
  members: z.array(z.string()).nullable(),
  /** For a group: how many members it has (nested groups expanded). */
  memberCount: z.number().int().nullable(),
  /** The highest level the viewer got on any of the principal's calendars; null when nothing is shown. */
  view: z.enum(['time', 'details']).nullable(),
  /** Merged, non-overlapping, in time order, clipped to the window; each with the highest busy type there. Packed on the wire (BusyPeriodsWire). */
  periods: BusyPeriodsWire,
  /** The busy instances the viewer may name (view `details`), in time order. */
  details: z.array(BusyDetail),
  /** One EWS digit per slot of `interval` minutes from `from`: 0 free, 1 tentative, 2 busy, 3 out of office, 4 no data; each slot its highest digit. Null unless status is ok or noData. */
  slots: z.string().nullable(),
  workingHours: WorkingHours.nullable(),
  outOfOffice: OutOfOffice.nullable(),
  /**
   * Null: `periods` and `details` are complete. Otherwise they were cut to keep the
   * answer within `limits.maxAnswerBytes`: they hold only what starts before this
   * instant (ask again from it, or fewer principals). `slots` are always complete.
   */
  cutAt: z.string().nullable(),
});
/** A principal's entry as it travels (periods packed). */
export type PrincipalFreeBusyWire = z.infer<typeof PrincipalFreeBusy>;
/** A principal's entry as a client library hands it to its callers (periods as objects). */
export type PrincipalFreeBusy = Omit<PrincipalFreeBusyWire, 'periods'> & { periods: BusyPeriod[] };

export const CalendarFreeBusySettings = z.strictObject({
  id: z.string(),
  name: z.string(),
  isDefault: z.boolean(),
  countsTowardFreeBusy: z.boolean(),
  /** The owner's override of the domain's default visibility; null = the domain's. */
  visibility: FreeBusyVisibility.nullable(),
});

export const FreeBusySettings = z.strictObject({
  email: z.string(),
  /** The hours in force (the account's own, else the domain's). */
  workingHours: WorkingHours,
  workingHoursAreDefault: z.boolean(),
  outOfOffice: OutOfOffice.nullable(),
  calendars: z.array(CalendarFreeBusySettings),
});
export type FreeBusySettings = z.infer<typeof FreeBusySettings>;

export const FreeBusyDomainPolicy = z.strictObject({
  domain: z.string(),
  /** What members of the domain see of each other without a grant (default `time`). */
  members: FreeBusyVisibility,
  /** At most what accounts of other domains on this server see without a grant (default `time`). */
  otherDomains: FreeBusyVisibility,
  /** What the Internet free/busy door shows without authentication (default `none`). */
  anonymous: FreeBusyVisibility,
  workingHours: WorkingHours,
});
export type FreeBusyDomainPolicy = z.infer<typeof FreeBusyDomainPolicy>;

export const Availability = z.enum(['free', 'tentative', 'busy', 'outOfOffice', 'unknown']);
export type Availability = z.infer<typeof Availability>;

export const MeetingSuggestion = z.strictObject({
  start: z.string(),
  end: z.string(),
  /** 0–100: the attendees' weighted chance of attending (free 1, tentative or unknown 0.5, busy or out of office 0; optional attendees weigh half). */
  confidence: z.number(),
  attendees: z.array(z.strictObject({ principal: z.string(), required: z.boolean(), availability: Availability })),
  /** The rooms free for the whole slot (empty when no rooms were asked for). */
  rooms: z.array(z.string()),
});
export type MeetingSuggestion = z.infer<typeof MeetingSuggestion>;

/** Why a suggestion list is empty. */
export const EmptySuggestionReason = z.enum(['windowTooShort', 'outsideWorkingHours', 'roomsUnavailable', 'attendeesUnavailable']);

const QueryArgs = z.strictObject({
  principals: z.array(z.string().min(1).max(320)).min(1).max(FreeBusyLimits.maxPrincipals),
  from: IsoDateTime.optional(),
  to: IsoDateTime.optional(),
  interval: z.number().int().min(FreeBusyLimits.minInterval).max(FreeBusyLimits.maxInterval).default(FreeBusyLimits.defaultInterval),
});
const QueryResult = z.strictObject({ from: z.string(), to: z.string(), interval: z.number().int(), principals: z.array(PrincipalFreeBusy) });
/** A FreeBusy/query answer (and a watch's push `changes`) as it travels. */
export type FreeBusyAnswerWire = z.infer<typeof QueryResult>;
/** The same as a client library hands it to its callers. */
export type FreeBusyAnswer = Omit<FreeBusyAnswerWire, 'principals'> & { principals: PrincipalFreeBusy[] };

export const freeBusyMethods = {
  'FreeBusy/query': defineMethod({
    summary:
      'Merged busy periods, an EWS slot string, working hours and out-of-office of up to 100 principals (people, rooms, GAL groups expanded) over a window; a status per principal.',
    args: QueryArgs,
    result: QueryResult,
  }),
  'FreeBusy/watch': defineMethod({
    summary:
      "Answers as FreeBusy/query and keeps watching those principals over that window: changes arrive as push frames of scope `watch` carrying only the changed principals. One watch per session (a new one replaces it); it ends with the session.",
    args: QueryArgs,
    result: QueryResult.extend({ watch: z.string(), state: z.string() }),
  }),
  'FreeBusy/unwatch': defineMethod({
    summary: "Ends the session's free/busy watch (none: nothing happens).",
    args: z.strictObject({}),
    result: z.strictObject({}),
  }),
  'FreeBusy/suggest': defineMethod({
    summary:
      "Meeting times inside every required attendee's working hours (each in their own zone), ranked by confidence (as Graph's findMeetingTimes), with the rooms free for each; an empty answer says why.",
    args: z.strictObject({
      required: z.array(z.string().min(1).max(320)).min(1).max(FreeBusyLimits.maxSuggestAttendees),
      optional: z.array(z.string().min(1).max(320)).max(FreeBusyLimits.maxSuggestAttendees).default([]),
      /** Rooms to choose from, by email; or `anyRoom` to consider every room of your domain with at least this capacity. */
      rooms: z.array(z.string().min(1).max(320)).max(FreeBusyLimits.maxSuggestRooms).default([]),
      anyRoom: z.strictObject({ minCapacity: z.number().int().min(1).max(100_000) }).optional(),
      duration: z.number().int().min(FreeBusyLimits.minInterval).max(FreeBusyLimits.maxMeetingMinutes),
      from: IsoDateTime,
      to: IsoDateTime,
      /** Minutes between candidate starts (from `from`). */
      granularity: z.number().int().min(FreeBusyLimits.minInterval).max(FreeBusyLimits.maxInterval).default(FreeBusyLimits.defaultInterval),
      /** Slots below this confidence are not suggested. */
      minimumConfidence: z.number().min(0).max(100).default(50),
      maxSuggestions: z.number().int().min(1).max(FreeBusyLimits.maxSuggestions).default(FreeBusyLimits.defaultSuggestions),
    }),
    result: z.strictObject({
      suggestions: z.array(MeetingSuggestion),
      emptyReason: EmptySuggestionReason.nullable(),
      /** Attendees and rooms whose free/busy could not be read (not found, no right, no data): they count as `unknown`. */
      unknown: z.array(z.string()),
    }),
  }),
  'FreeBusy/publish': defineMethod({
    summary:
      "Publishes the caller's free/busy (time only) at a secret Internet free/busy URL, with a new token (an older one stops working), or stops publishing. The token is shown only here.",
    args: z.strictObject({ enabled: z.boolean() }),
    result: z.strictObject({ token: z.string().nullable(), path: z.string().nullable() }),
  }),
  'FreeBusy/getSettings': defineMethod({
    summary: "Reads an account's working hours, out-of-office period and calendars' free/busy settings (the caller's own; admins may name an account).",
    args: z.strictObject({ email: EmailAddress.optional() }),
    result: z.strictObject({ settings: FreeBusySettings }),
  }),
  'FreeBusy/setSettings': defineMethod({
    summary:
      "Sets an account's working hours (null = the domain's), out-of-office period (null = none) and, for the owner only, which calendars count toward free/busy and their visibility override.",
    args: z.strictObject({
      email: EmailAddress.optional(),
      workingHours: WorkingHours.nullable().optional(),
      outOfOffice: OutOfOffice.nullable().optional(),
      calendars: z
        .record(Id, z.strictObject({ countsTowardFreeBusy: z.boolean().optional(), visibility: FreeBusyVisibility.nullable().optional() }))
        .optional(),
    }),
    result: z.strictObject({ settings: FreeBusySettings }),
  }),
  'FreeBusy/getDomainPolicy': defineMethod({
    summary: "Reads a domain's free/busy defaults (domain admins their own domain, global admins any).",
    args: z.strictObject({ domain: DomainName }),
    result: z.strictObject({ policy: FreeBusyDomainPolicy }),
  }),
  'FreeBusy/setDomainPolicy': defineMethod({
    summary: "Sets a domain's default free/busy visibility (members, other domains, anonymous) and default working hours.",
    args: z.strictObject({
      domain: DomainName,
      members: FreeBusyVisibility.optional(),
      otherDomains: FreeBusyVisibility.optional(),
      anonymous: FreeBusyVisibility.optional(),
      workingHours: WorkingHours.optional(),
    }),
    result: z.strictObject({ policy: FreeBusyDomainPolicy }),
  }),
} as const;
