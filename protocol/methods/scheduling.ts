import { z } from 'zod';
import { EmailAddress } from './admin.ts';
import { defineMethod } from './define.ts';

/**
 * Scheduling (docs/protocol.md §Scheduling): each account's inbox — its own
 * sync scope `inbox:<accountId>` — and the booking policies of GAL resources.
 * Invitations themselves need no method: an organizer's CalendarEvent/set of
 * an event with ATTENDEEs is the invitation (implicit scheduling, RFC 6638).
 */

const Id = z.guid();

/**
 * request: a new invitation; update: the organizer changed it; cancel: it (or your part in it) was cancelled;
 * reply: an attendee answered; counter: an attendee proposes another time; declinecounter: the organizer declined your proposal;
 * undeliverable: an iMIP message you sent to someone outside the server could not be delivered (from: their address; comment: why).
 * approval: a resource you approve for holds a request for you to accept or decline (Resource/decide).
 */
export const InboxKind = z.enum(['request', 'update', 'cancel', 'reply', 'counter', 'declinecounter', 'undeliverable', 'approval']);

export const InboxMessage = z.strictObject({
  id: z.string(),
  kind: InboxKind,
  /** The iCalendar UID of the event. */
  uid: z.string(),
  /** Where the recipient holds the event (their copy, or the organizer's own event); null once it is gone. */
  calendarId: z.string().nullable(),
  eventId: z.string().nullable(),
  /** The organizer's address (request, update, cancel) or the answering attendee's (reply). */
  from: z.string(),
  /** The event's SEQUENCE the message is about. */
  sequence: z.number().int(),
  /** reply: the answer (ACCEPTED, DECLINED, TENTATIVE, ...). */
  partstat: z.string().nullable(),
  /** reply: the occurrence answered (the RECURRENCE-ID as written), null for the whole series. */
  recurrenceId: z.string().nullable(),
  summary: z.string().nullable(),
  firstStart: z.string().nullable(),
  /** A copy for a delegate: the address of the person it is for (null: for you). */
  onBehalfOf: z.string().nullable(),
  /** counter: the proposed time; declinecounter: the proposal declined. */
  proposedStart: z.string().nullable(),
  proposedEnd: z.string().nullable(),
  /** counter, declinecounter: the sender's comment. */
  comment: z.string().nullable(),
  /** reply from a room declining for a conflict: the next slot of the same length it is free (null: none found). */
  freeNext: z.strictObject({ start: z.string(), end: z.string() }).nullable(),
  /** reply from a room declining for a conflict: the latest free slot of the same length before the conflicting occurrence (null: none). */
  freeEarlier: z.strictObject({ start: z.string(), end: z.string() }).nullable(),
  createdAt: z.string(),
});
export type InboxMessage = z.infer<typeof InboxMessage>;

export const BookingPolicy = z.strictObject({
  /** auto: accept when free; approval: answer TENTATIVE (held for an approver); decline: decline everything. */
  mode: z.enum(['auto', 'approval', 'decline']),
  /** true: a request that conflicts with a booking is declined; false: it is answered TENTATIVE and not booked. */
  declineConflicts: z.boolean(),
  /** Addresses of people or groups (nested groups count) who may book; empty = everyone of the resource's domain. */
  allowedBookers: z.array(z.string()),
  maxDurationMinutes: z.number().int().min(1).max(100_000),
  /** Every occurrence must end within this many days from now (a series without an end: see unboundedSeries). */
  bookingWindowDays: z.number().int().min(1).max(3650),
  /** false: recurring meetings are declined. A series with any conflicting occurrence is declined as a whole. */
  allowRecurring: z.boolean(),
  /** true: a decline names the organizer and subject of a conflicting public booking; otherwise only its time. */
  conflictDetails: z.boolean(),
  /** People of the resource's domain who accept or decline held requests (approval mode) with Resource/decide; their inboxes get `approval` messages. */
  approvers: z.array(z.string()),
  /** A series conflicting in some occurrences: true = accept the series and decline those occurrences alone; false = decline the whole series. */
  declineConflictingOccurrences: z.boolean(),
  /** A series without an end (no COUNT, no UNTIL): true = booked, every occurrence, however far ahead; false = declined (reason window). */
  unboundedSeries: z.boolean(),
});
export type BookingPolicy = z.infer<typeof BookingPolicy>;

const ResourceInfo = z.strictObject({ id: z.string(), email: z.string(), displayName: z.string(), calendarId: z.string(), policy: BookingPolicy });

export const schedulingMethods = {
  'Inbox/get': defineMethod({
    summary: "Reads messages of the caller's scheduling inbox by id; `ids` omitted or null = the first 5,000 in id order (up to limits.maxAnswerBytes; hasMore then says there are more: page with Inbox/changes or ask by id).",
    args: z.strictObject({ ids: z.array(Id).max(500).nullable().optional() }),
    result: z.strictObject({ state: z.string(), list: z.array(InboxMessage), notFound: z.array(z.string()), hasMore: z.boolean() }),
  }),
  'Inbox/changes': defineMethod({
    summary: "Messages that arrived in (created) or were dismissed from (destroyed) the caller's inbox since a state (none = everything), paged by maxChanges.",
    args: z.strictObject({ sinceState: z.string().max(200).optional(), maxChanges: z.number().int().min(1).max(5000).default(500) }),
    result: z.strictObject({
      scope: z.string(),
      oldState: z.string().nullable(),
      newState: z.string(),
      hasMoreChanges: z.boolean(),
      created: z.array(InboxMessage),
      updated: z.array(InboxMessage),
      destroyed: z.array(z.string()),
    }),
  }),
  'Inbox/set': defineMethod({
    summary: 'Dismisses messages from the caller\'s inbox (the events they are about stay). Unknown ids are listed in notDestroyed.',
    args: z.strictObject({ destroy: z.array(Id).min(1).max(500) }),
    result: z.strictObject({ oldState: z.string(), newState: z.string(), destroyed: z.array(z.string()), notDestroyed: z.record(z.string(), z.strictObject({ code: z.string(), message: z.string() })) }),
  }),
  'Inbox/delegateCopies': defineMethod({
    summary:
      'A delegate chooses whether their inbox also gets the scheduling messages of a calendar they are delegate for (messages name whose they are in onBehalfOf). Needs a delegate grant on that calendar.',
    args: z.strictObject({ calendarId: Id, enabled: z.boolean() }),
    result: z.strictObject({ calendarId: z.string(), enabled: z.boolean() }),
  }),
  'Admin/resourceGet': defineMethod({
    summary: "A GAL resource's calendar and booking policy. Global admins; domain admins for their own domain.",
    args: z.strictObject({ email: EmailAddress }),
    result: z.strictObject({ resource: ResourceInfo }),
  }),
  'Resource/decide': defineMethod({
    summary:
      "An approver of a resource accepts or declines a request the resource holds (an `approval` message's eventId), or revokes (decline) one it accepted. The organizer's copy and the resource's calendar follow; an acceptance that would now overlap a booking is refused (BOOKING_CONFLICT).",
    args: z.strictObject({ eventId: Id, decision: z.enum(['accept', 'decline']) }),
    result: z.strictObject({ eventId: z.string(), partstat: z.enum(['ACCEPTED', 'DECLINED']) }),
  }),
  'Admin/resourceSetPolicy': defineMethod({
    summary: "Changes a resource's booking policy (fields omitted keep their value). Applies to later requests; existing bookings stay.",
    args: z.strictObject({ email: EmailAddress, policy: BookingPolicy.partial() }),
    result: z.strictObject({ resource: ResourceInfo }),
  }),
} as const;
