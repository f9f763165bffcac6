/**
 * The LDAP door's limits. ldapjs enforces none of them (it neither caps
 * results nor times out searches), so dmci does. The first group comes from
 * configuration (docs/operations.md); the constants below are fixed.
 */
export interface LdapLimits {
  /** DMCI_LDAP_ALLOW_ANONYMOUS: anonymous binds and unauthenticated searches of the GAL. */
  allowAnonymous: boolean;
  /** DMCI_LDAP_MAX_SIZE: entries per search (and per page of a paged search). */
  maxSize: number;
  /** DMCI_LDAP_MAX_TIME_MS: wall time per search, enforced as the database statement_timeout. */
  maxTimeMs: number;
  /** DMCI_LDAP_MAX_FILTER_DEPTH: nesting of &, |, ! in a filter. */
  maxFilterDepth: number;
  /** DMCI_LDAP_MAX_FILTER_BYTES: size of the BER-encoded filter. */
  maxFilterBytes: number;
  /** DMCI_LDAP_IDLE_TIMEOUT_MS: a connection with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** DMCI_LDAP_MAX_CONNECTIONS: open connections per port (LDAP and LDAPS each) on this node. */
  maxConnections: number;
  /** DMCI_LDAP_REQUIRE_TLS: a bind with a password on a connection without TLS (LDAPS or StartTLS) is refused with confidentialityRequired (13). */
  requireTls: boolean;
  /** DMCI_LDAP_MAX_CONNECTIONS_PER_IP: LDAP connections from one address (per port), so one address cannot hold every slot; trusted hosts exempt. */
  maxConnectionsPerAddress: number;
  /** DMCI_LDAP_MAX_UNREAD_MB, in bytes: answers queued unread on all the node's LDAP connections together; past it the connection holding the most is closed (ldap-unread.ts). */
  maxUnreadBytes: number;
  /** DMCI_LDAP_BIND_DEADLINE_MS: a connection not bound by then is closed (when anonymous access is off, an unbound connection can do nothing but read the root DSE); trusted hosts exempt. */
  bindDeadlineMs: number;
}

/** One LDAP message (a BER PDU) may not exceed this; a bigger one closes the connection. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
/**
 * Answers written to a connection and not yet read by its client: above the
 * first the door stops reading that connection's requests until the client
 * has read (they wait in its TCP connection); above the second it closes the
 * connection. A client that never reads costs the node at most this much
 * (plus the operations it already had in progress).
 */
export const UNREAD_PAUSE_BYTES = 4 * 1024 * 1024;
export const UNREAD_CLOSE_BYTES = 64 * 1024 * 1024;
/**
 * Rows one read of a search asking for photos or members fetches (the SQL
 * path; a page is read in such sub-pages, each after the last one's entries
 * went out): such a row is up to ~1 MB while it is decoded (a 100 KiB photo,
 * a group's 5,000 members), so one search holds at most ~8 MB of rows,
 * whatever its page size.
 */
export const LARGE_ROWS_PER_READ = 8;
/** Operations one connection may have in progress at once; more are answered with busy (51). */
export const MAX_OPERATIONS_PER_CONNECTION = 8;
/** Domains listed in a global admin's root DSE namingContexts. */
export const MAX_NAMING_CONTEXTS = 1000;
/** TLS handshake deadline for LDAPS. */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Connections in the LDAP door's own database pool (each with statement_timeout = DMCI_LDAP_MAX_TIME_MS). */
export const LDAP_DB_POOL_SIZE = 4;
/** Distinct search base DNs a node keeps parsed (what clients send over and over); past it the memory starts over. */
export const MAX_REMEMBERED_BASES = 1000;
/** A domain name's id is remembered this long (domains are created rarely and never renamed). */
export const DOMAIN_CACHE_MS = 60_000;
