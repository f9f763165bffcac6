import { z } from 'zod';
import { EmailAddress } from './admin.ts';
import { defineMethod } from './define.ts';

/**
 * Calendars and their events (docs/protocol.md §Calendars).
 *
 * Every calendar is a sync scope (`cal:<calendarId>`) with its own state;
 * each account's list of calendars (its own and those shared with it) is the
 * scope `calendars:<accountId>`. States are opaque strings.
 *
 * What a viewer sees of an event is decided by one policy: `view` says which
 * level the object was rendered at — `full` (the stored iCalendar), `details`
 * (times, busy status, SUMMARY and LOCATION only) or `time` (times and busy
 * status only; the UID is replaced by an opaque one).
 */

const Id = z.guid();
const IsoDateTime = z.iso.datetime({ offset: true });

/** Rising: free/busy only < time, subject and location < read < write < manage (docs/protocol.md §Rights and privacy). */
export const AccessRight = z.enum(['freebusy', 'details', 'read', 'write', 'manage']);
export type AccessRight = z.infer<typeof AccessRight>;
export const ViewLevel = z.enum(['full', 'details', 'time']);
export type ViewLevel = z.infer<typeof ViewLevel>;

export const Grant = z.strictObject({
  right: AccessRight,
  /** A delegate acts for the owner; with privateAccess they also see private events in full. */
  delegate: z.boolean().default(false),
  privateAccess: z.boolean().default(false),
});
export type Grant = z.infer<typeof Grant>;

/** A grant as the owner and managers see it: to an account or to a GAL group (every member, nested groups included). */
export const GrantInfo = Grant.extend({ grantee: z.enum(['account', 'group']) });
export type GrantInfo = z.infer<typeof GrantInfo>;

export const CalendarRights = z.strictObject({
  right: z.enum(['owner', 'freebusy', 'details', 'read', 'write', 'manage']),
  /** Sees CLASS:PRIVATE and CONFIDENTIAL events in full (the owner and delegates with privateAccess). */
  mayReadPrivate: z.boolean(),
});
export type CalendarRights = z.infer<typeof CalendarRights>;

export const Calendar = z.strictObject({
  id: z.string(),
  name: z.string(),
  color: z.string().nullable(),
  description: z.string().nullable(),
  isDefault: z.boolean(),
  owner: z.strictObject({ id: z.string(), email: z.string() }),
  /** The sync scope of this calendar's events, as named in push frames. */
  scope: z.string(),
  /** The events scope's state when this object was read (changes to it do not show in Calendar/changes). */
  state: z.string(),
  myRights: CalendarRights,
  /** Grants by grantee email (an account's or a GAL group's); only the owner and managers see it, null for others. */
  shareWith: z.record(z.string(), GrantInfo).nullable(),
});
export type Calendar = z.infer<typeof Calendar>;

export const SetError = z.strictObject({ code: z.string(), message: z.string(), details: z.unknown().optional() });
export type SetError = z.infer<typeof SetError>;

const CalendarName = z.string().trim().min(1).max(256);
const Color = z.string().max(32).nullable();
const Description = z.string().max(4096).nullable();

export const CalendarEvent = z.strictObject({
  id: z.string(),
  calendarId: z.string(),
  /** The iCalendar UID; for `time`-level views an opaque stand-in. */
  uid: z.string(),
  version: z.number().int(),
  view: ViewLevel,
  /** A VCALENDAR: the stored object for `full`, a redacted one otherwise (docs: §Privacy). */
  ics: z.string(),
  recurring: z.boolean(),
  firstStart: z.string(),
  /** null = the series never ends. */
  lastEnd: z.string().nullable(),
});
export type CalendarEvent = z.infer<typeof CalendarEvent>;

/** A booking that made a resource decline: its time always; organizer and subject only when the policy and the event's class allow. */
export const BookingConflict = z.strictObject({ start: z.string(), end: z.string(), organizer: z.string().optional(), summary: z.string().optional() });
export type BookingConflict = z.infer<typeof BookingConflict>;

/**
 * What the scheduler did for one attendee of an organizer's write:
 * delivered (copy and inbox message written), cancelled (copy removed),
 * answered (a resource answered at once: partstat, and for a decline the
 * reason and conflicts), client / none (SCHEDULE-AGENT: not scheduled by
 * dmci), external (no account or resource on this server).
 */
export const ScheduleOutcome = z.strictObject({
  delivery: z.enum(['delivered', 'cancelled', 'answered', 'client', 'none', 'external']),
  partstat: z.string().optional(),
  reason: z.enum(['policy', 'not-allowed', 'recurring', 'duration', 'window', 'conflict']).optional(),
  conflicts: z.array(BookingConflict).optional(),
  /** A resource that accepted a series but declined these occurrences alone (their recurrence ids, as CalendarEvent/query reports them): policy declineConflictingOccurrences. */
  declinedOccurrences: z.array(z.string()).optional(),
  /** Delivered although the attendee is now over their storage quota (the copy counts toward it; docs/protocol.md §Scheduling). */
  overQuota: z.boolean().optional(),
  /** A room declining for a conflict: when it is next free for as long, from the (first) conflicting occurrence on, within a bounded search. */
  freeNext: z.strictObject({ start: z.string(), end: z.string() }).optional(),
  /** A room declining for a conflict: the latest slot of the same length it is free before the (first) conflicting occurrence, not before now, within the same search. */
  freeEarlier: z.strictObject({ start: z.string(), end: z.string() }).optional(),
});
export type ScheduleOutcome = z.infer<typeof ScheduleOutcome>;

/** The reply shortcut: answer an invitation in one's copy without rewriting it. */
export const Reply = z.strictObject({
  partstat: z.enum(['ACCEPTED', 'DECLINED', 'TENTATIVE']),
  /** One occurrence (its recurrenceId as CalendarEvent/query gives it); omitted = the whole series. */
  recurrenceId: z.string().min(1).max(64).optional(),
  /** The organizer SEQUENCE this answers; an older one than the copy's is refused (STALE_ANSWER). Omitted = the current one. */
  sequence: z.number().int().min(0).optional(),
});

/** COUNTER (RFC 5546 §3.2.7): an attendee proposes another time for the meeting (whole event). */
export const Counter = z.strictObject({
  start: z.iso.datetime({ offset: true }),
  end: z.iso.datetime({ offset: true }),
  comment: z.string().max(2000).optional(),
  /** The organizer SEQUENCE this proposal is about; older than the copy's → STALE_ANSWER. */
  sequence: z.number().int().min(0).optional(),
});

/** DECLINECOUNTER (RFC 5546 §3.2.8): the organizer declines a proposal (the `counter` message of their inbox). */
export const DeclineCounter = z.strictObject({ messageId: z.guid(), comment: z.string().max(2000).optional() });

export const EventInstance = z.strictObject({
  calendarId: z.string(),
  eventId: z.string(),
  uid: z.string(),
  recurrenceId: z.string(),
  /** UTC instants; for all-day and floating events computed in the query's timeZone. */
  start: z.string(),
  end: z.string(),
  /** Wall-clock time in the event's zone (`tzid`), e.g. "2026-10-19T09:30:00" or "2026-12-24" for all-day. */
  startLocal: z.string(),
  endLocal: z.string(),
  tzid: z.string().nullable(),
  allDay: z.boolean(),
  floating: z.boolean(),
  busyType: z.enum(['BUSY', 'BUSY-TENTATIVE', 'BUSY-UNAVAILABLE', 'FREE']),
  transparent: z.boolean(),
  status: z.string().nullable(),
  isOverride: z.boolean(),
  view: ViewLevel,
  summary: z.string().nullable(),
  location: z.string().nullable(),
});
export type EventInstance = z.infer<typeof EventInstance>;

const ChangesCommon = {
  oldState: z.string().nullable(),
  newState: z.string(),
  hasMoreChanges: z.boolean(),
  destroyed: z.array(z.string()),
};

export const SyncWindow = z.strictObject({
  pastDays: z.number().int().min(0).max(3650),
  futureDays: z.number().int().min(0).max(3650),
});
export type SyncWindow = z.infer<typeof SyncWindow>;

const MaxChanges = z.number().int().min(1).max(5000).default(500);
/** Large enough for the 256 KiB object limit to be reported per object rather than as a schema error. */
const IcsText = z.string().min(1).max(512 * 1024);

export const calendarMethods = {
  'Calendar/get': defineMethod({
    summary: 'Reads calendars the caller can see (its own and those shared with it); `ids` omitted or null = all.',
    args: z.strictObject({ ids: z.array(Id).max(500).nullable().optional() }),
    result: z.strictObject({ state: z.string(), list: z.array(Calendar), notFound: z.array(z.string()) }),
  }),
  'Calendar/set': defineMethod({
    summary:
      'Creates, updates (name, color, description, shareWith) and destroys calendars. Each object is its own transaction; failures are reported per object. The default calendar cannot be destroyed.',
    args: z.strictObject({
      create: z.record(z.string().min(1).max(64), z.strictObject({ name: CalendarName, color: Color.optional(), description: Description.optional() })).optional(),
      update: z
        .record(
          Id,
          z.strictObject({
            name: CalendarName.optional(),
            color: Color.optional(),
            description: Description.optional(),
            /** email (an account, or a GAL group of the owner's domain) → right, a Grant, or null to revoke. Needs the manage right or ownership. */
            shareWith: z.record(EmailAddress, z.union([AccessRight, Grant, z.null()])).optional(),
          }),
        )
        .optional(),
      destroy: z.array(Id).max(100).optional(),
    }),
    result: z.strictObject({
      oldState: z.string(),
      newState: z.string(),
      created: z.record(z.string(), Calendar),
      updated: z.record(z.string(), Calendar),
      destroyed: z.array(z.string()),
      notCreated: z.record(z.string(), SetError),
      notUpdated: z.record(z.string(), SetError),
      notDestroyed: z.record(z.string(), SetError),
    }),
  }),
  'Calendar/changes': defineMethod({
    summary: "Changes to the caller's calendar list since a state: calendars created, changed, shared with or unshared from it, destroyed.",
    args: z.strictObject({ sinceState: z.string().max(200).optional(), maxChanges: MaxChanges }),
    result: z.strictObject({ ...ChangesCommon, created: z.array(Calendar), updated: z.array(Calendar) }),
  }),
  'CalendarEvent/get': defineMethod({
    summary:
      'Reads events of one calendar by id, rendered at the level the caller may see. With hasMore the list ended early at limits.maxAnswerBytes: ask again for the ids in neither list nor notFound.',
    args: z.strictObject({ calendarId: Id, ids: z.array(Id).min(1).max(500) }),
    result: z.strictObject({ calendarId: z.string(), state: z.string(), list: z.array(CalendarEvent), notFound: z.array(z.string()), hasMore: z.boolean() }),
  }),
  'CalendarEvent/set': defineMethod({
    summary:
      'Creates, updates and destroys events of one calendar in ONE transaction. Invalid objects are reported per object and the rest commit; an `ifInState` mismatch fails the whole call (STATE_MISMATCH) and writes nothing.',
    args: z.strictObject({
      calendarId: Id,
      ifInState: z.string().max(200).optional(),
      create: z.record(z.string().min(1).max(64), z.strictObject({ ics: IcsText, idempotencyKey: z.string().min(1).max(128).optional() })).optional(),
      update: z.record(Id, z.strictObject({ ics: IcsText, ifVersion: z.number().int().positive().optional() })).optional(),
      destroy: z.array(z.union([Id, z.strictObject({ id: Id, ifVersion: z.number().int().positive().optional() })])).optional(),
      /** Answers to invitations held in this calendar: event id (the attendee's copy) → answer (docs: §Scheduling). */
      reply: z.record(Id, Reply).optional(),
      /** Proposals of another time by an attendee: event id (their copy) → proposal. Answered in `replied`/`notReplied`. */
      counter: z.record(Id, Counter).optional(),
      /** The organizer declines proposals: event id (their own event) → the counter message. Answered in `replied`/`notReplied`. */
      declineCounter: z.record(Id, DeclineCounter).optional(),
    }),
    result: z.strictObject({
      calendarId: z.string(),
      oldState: z.string(),
      newState: z.string(),
      created: z.record(z.string(), z.strictObject({ id: z.string(), uid: z.string(), version: z.number().int() })),
      updated: z.record(z.string(), z.strictObject({ version: z.number().int() })),
      destroyed: z.array(z.string()),
      notCreated: z.record(z.string(), SetError),
      notUpdated: z.record(z.string(), SetError),
      notDestroyed: z.record(z.string(), SetError),
      /** Answers written by `reply`: event id → its new version. */
      replied: z.record(z.string(), z.strictObject({ version: z.number().int() })).optional(),
      notReplied: z.record(z.string(), SetError).optional(),
      /** Implicit scheduling: event id → attendee address → what happened (only for events that schedule). */
      scheduled: z.record(z.string(), z.record(z.string(), ScheduleOutcome)).optional(),
    }),
  }),
  'CalendarEvent/changes': defineMethod({
    summary:
      "Events created, updated and destroyed in one calendar since a state (none = everything), paged by maxChanges. With `window`, only events touching [now − pastDays, now + futureDays] are in the replica; as the window moves they arrive as created and leave as destroyed.",
    args: z.strictObject({ calendarId: Id, sinceState: z.string().max(200).optional(), maxChanges: MaxChanges, window: SyncWindow.optional() }),
    result: z.strictObject({ calendarId: z.string(), ...ChangesCommon, created: z.array(CalendarEvent), updated: z.array(CalendarEvent) }),
  }),
  'CalendarEvent/query': defineMethod({
    summary:
      'Expanded instances of events in the given calendars that overlap [from, to), sorted by start (then event id, recurrence id), paged by position/limit. All-day and floating times are placed in `timeZone` (IANA, default UTC).',
    args: z.strictObject({
      calendarIds: z.array(Id).min(1).max(50),
      from: IsoDateTime,
      to: IsoDateTime,
      timeZone: z.string().min(1).max(64).default('UTC'),
      position: z.number().int().min(0).default(0),
      limit: z.number().int().min(1).max(1000).default(256),
    }),
    result: z.strictObject({ instances: z.array(EventInstance), position: z.number().int(), hasMore: z.boolean() }),
  }),
} as const;
