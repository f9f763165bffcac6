/**
 * Sync scope ids (DESIGN §4): the one place that knows how a scope id is
 * spelled. Every other module builds and reads scope ids through these
 * functions, so a new scope kind (a scheduling inbox, say) is one line here.
 *
 * An id is `<kind>:<key>`; the key is a uuid (calendar, account or domain id).
 * Bumps take scope row locks in the sorted order of these ids (scope-write.ts),
 * and `availability-defaults:` sorts before `availability:` sorts before
 * `cal:` sorts before `calendars:` sorts before `gal:` sorts before `inbox:`.
 */
export const ScopeKind = {
  /** One calendar's events; key: the calendar id. */
  calendar: 'cal',
  /** One account's list of calendars it can see; key: the account id. */
  calendarList: 'calendars',
  /** One domain's Global Address List; key: the domain id. */
  gal: 'gal',
  /** One account's scheduling inbox (invitations, answers, cancellations); key: the account id. */
  inbox: 'inbox',
  /**
   * One account's free/busy settings (working hours, out of office, which of
   * its calendars count and their visibility); key: the account id. No feed
   * follows it: free/busy watches take its hints (server/freebusy/).
   */
  availability: 'availability',
  /** One domain's free/busy defaults (visibility, working hours); key: the domain id. No feed, as `availability`. */
  availabilityDefaults: 'availability-defaults',
} as const;
export type ScopeKind = (typeof ScopeKind)[keyof typeof ScopeKind];

const kinds = new Set<string>(Object.values(ScopeKind));

export function calendarScope(calendarId: string): string {
  return `${ScopeKind.calendar}:${calendarId}`;
}

export function calendarListScope(accountId: string): string {
  return `${ScopeKind.calendarList}:${accountId}`;
}

export function inboxScope(accountId: string): string {
  return `${ScopeKind.inbox}:${accountId}`;
}

export function availabilityScope(accountId: string): string {
  return `${ScopeKind.availability}:${accountId}`;
}

export function availabilityDefaultsScope(domainId: string): string {
  return `${ScopeKind.availabilityDefaults}:${domainId}`;
}

export function galScope(domainId: string): string {
  return `${ScopeKind.gal}:${domainId}`;
}

/** The kind part of a scope id (what the push hub routes by); '' when there is none. */
export function kindOf(scopeId: string): string {
  const colon = scopeId.indexOf(':');
  return colon < 1 ? '' : scopeId.slice(0, colon);
}

/** The kind and key of a scope id, or undefined when it names no known kind. */
export function parseScope(scopeId: string): { kind: ScopeKind; key: string } | undefined {
  const kind = kindOf(scopeId);
  if (!kinds.has(kind) || scopeId.length === kind.length + 1) return undefined;
  return { kind: kind as ScopeKind, key: scopeId.slice(kind.length + 1) };
}

/** The key of a scope id of a known kind (feeds get only ids of their own kind). */
export function scopeKey(kind: ScopeKind, scopeId: string): string {
  const parsed = parseScope(scopeId);
  if (parsed?.kind !== kind) throw new Error(`${scopeId} is not a ${kind} scope`);
  return parsed.key;
}
