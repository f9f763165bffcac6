import { createHash } from 'node:crypto';
import { LdapError, ResultCode } from './ldap-result.ts';

/**
 * The simple paged results control (RFC 2696, OID 1.2.840.113556.1.4.319).
 *
 * The cookie is a keyset cursor, not server state: the id of the last
 * entry sent (entries go out in id order), how many entries went out so far (for the client's
 * size limit across pages) and a fingerprint of the search it belongs to. So
 * any node behind a load balancer can continue a paged search, nothing has
 * to be freed when a client walks away, and entries added or removed between
 * pages never make a page skip or repeat a surviving entry. Forging a
 * cookie gains nothing: the query still applies the caller's rights.
 */
export const PAGED_RESULTS_OID = '1.2.840.113556.1.4.319';

export interface PageCursor {
  /** Id of the last entry sent; undefined when only the synthetic base entry went out. */
  after?: { id: string };
  /** Entries sent on earlier pages. */
  sent: number;
}

/** What identifies "the same search" (RFC 2696 §3: only the cookie and page size may change between pages). */
export function searchFingerprint(parts: { who: string; base: string; scope: string; filter: string; attributes: readonly string[]; typesOnly: boolean; sizeLimit: number }): string {
  return createHash('sha256')
    .update(JSON.stringify([parts.who, parts.base, parts.scope, parts.filter, parts.attributes.map((a) => a.toLowerCase()), parts.typesOnly, parts.sizeLimit]))
    .digest('base64url')
    .slice(0, 16);
}

export function encodeCookie(fingerprint: string, cursor: PageCursor): Buffer {
  return Buffer.from(JSON.stringify({ v: 2, f: fingerprint, s: cursor.sent, ...(cursor.after ? { i: cursor.after.id } : {}) }));
}

/** Reads a cookie back; unwillingToPerform (53) when it is not one of ours or belongs to another search. */
export function decodeCookie(cookie: Buffer, fingerprint: string): PageCursor {
  const invalid = () => new LdapError(ResultCode.unwillingToPerform, 'paged results cookie is invalid or belongs to a different search');
  let parsed: unknown;
  try {
    parsed = JSON.parse(cookie.toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof parsed !== 'object' || parsed === null) throw invalid();
  // Version 1 cookies (name order, before issue 13's id order) are refused: the client restarts its search.
  const { v, f, s, i } = parsed as Record<string, unknown>;
  if (v !== 2 || f !== fingerprint || typeof s !== 'number' || !Number.isInteger(s) || s < 0) throw invalid();
  if (i === undefined) return { sent: s };
  if (typeof i !== 'string' || !/^[0-9a-f-]{36}$/.test(i)) throw invalid();
  return { after: { id: i }, sent: s };
}
