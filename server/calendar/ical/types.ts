/** The public data types of the iCalendar engine (re-exported by index.ts). */

export type BusyType = 'BUSY' | 'BUSY-TENTATIVE' | 'BUSY-UNAVAILABLE' | 'FREE';
export type Classification = 'PUBLIC' | 'PRIVATE' | 'CONFIDENTIAL';
export type EventStatus = 'CONFIRMED' | 'TENTATIVE' | 'CANCELLED' | null;

export interface IcalLimits {
  /** Size of the iCalendar text in UTF-8 bytes. */
  maxBytes: number;
  /** VEVENTs with a RECURRENCE-ID in one object. */
  maxOverrides: number;
  /** Instances one expandInstances call may return. */
  maxInstancesPerExpansion: number;
  /**
   * Work budget of one object's parse or expansion, in steps (work-budget.ts):
   * days, rule candidates, zone years and instances looked at. Past it:
   * LIMIT_EXCEEDED with details { budget: 'object', limit }.
   */
  maxExpansionSteps: number;
}

export const defaultIcalLimits: IcalLimits = Object.freeze({
  maxBytes: 256 * 1024,
  maxOverrides: 1000,
  maxInstancesPerExpansion: 5000,
  maxExpansionSteps: 250_000,
});

export interface Attendee {
  email: string;
  name: string | null;
  partstat: string | null;
  role: string | null;
}

/** One VEVENT: the master or an override. */
export interface ParsedEvent {
  /** Canonical: UTC 'YYYYMMDDTHHMMSSZ' for timed, 'YYYYMMDD' for all-day, local 'YYYYMMDDTHHMMSS' for floating. null on the master. */
  recurrenceId: string | null;
  summary: string | null;
  location: string | null;
  description: string | null;
  /** UTC instants; floating and all-day values read as UTC (see `floating`). */
  start: Date;
  end: Date;
  /** ISO local date-time in the event's zone ('2026-10-19T09:30:00'), or a date for all-day ('2026-12-24'). UTC events: the UTC wall time. */
  startLocal: string;
  endLocal: string;
  /** Resolved IANA name ('America/New_York' for "Eastern Standard Time"); the TZID as written for a VTIMEZONE naming no known zone; null for UTC, floating and all-day. */
  tzid: string | null;
  /** The TZID parameter exactly as written on DTSTART, null when there is none. */
  tzidOriginal: string | null;
  allDay: boolean;
  /** No zone: the consumer places the wall time in the viewer's zone (true for all-day too). */
  floating: boolean;
  classification: Classification;
  status: EventStatus;
  transparent: boolean;
  busyType: BusyType;
  sequence: number;
  organizer: string | null;
  attendees: Attendee[];
  /** RECURRENCE-ID;RANGE=THISANDFUTURE */
  thisAndFuture: boolean;
}

export interface ParsedCalendarObject {
  uid: string;
  /** The VCALENDAR to store: CRLF, folded, only this UID's VEVENTs and the VTIMEZONEs they use, no METHOD. */
  text: string;
  /** null when the object holds only overrides. */
  master: ParsedEvent | null;
  overrides: ParsedEvent[];
  recurring: boolean;
  /** Earliest instance start (UTC). */
  firstStart: Date;
  /** Latest instance end; null when the series is unbounded (or too long to walk cheaply — treat as unbounded). */
  lastEnd: Date | null;
}

export interface Instance {
  /** Same canonical form as ParsedEvent.recurrenceId; for a non-recurring event its start in that form. */
  recurrenceId: string;
  start: Date;
  end: Date;
  startLocal: string;
  endLocal: string;
  tzid: string | null;
  allDay: boolean;
  floating: boolean;
  busyType: BusyType;
  transparent: boolean;
  status: EventStatus;
  classification: Classification;
  isOverride: boolean;
  summary: string | null;
  location: string | null;
}
