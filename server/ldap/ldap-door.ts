import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { AccountService } from '../accounts/account.service.ts';
import { DirectoryReadLease } from '../cluster/directory-read-lease.ts';
import type { Config } from '../config/config.ts';
import { createDatabase } from '../db/database.ts';
import { PREPARED_STATEMENTS } from '../db/prepared-statements.ts';
import type { Logger } from '../log/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { IpScreen } from '../security/ip-screen.ts';
import type { LoginGuard } from '../security/login-guard.ts';
import { LdapBinder } from './ldap-bind.ts';
import { LdapIndex } from './ldap-index.ts';
import { LDAP_DB_POOL_SIZE, type LdapLimits } from './ldap-limits.ts';
import { LdapSearch } from './ldap-search.ts';
import { LdapServer } from './ldap-server.ts';
import { STARTTLS_OID } from './ldap-special-entries.ts';

export interface LdapDoor {
  port: number;
  /** LDAPS port, when a certificate is configured. */
  tlsPort: number | undefined;
  /** The node's in-memory GAL index (DMCI_LDAP_INDEX_MAX_MB). */
  index: LdapIndex;
  close(): Promise<void>;
}

export function ldapLimits(config: Config): LdapLimits {
  return {
    allowAnonymous: config.DMCI_LDAP_ALLOW_ANONYMOUS,
    maxSize: config.DMCI_LDAP_MAX_SIZE,
    maxTimeMs: config.DMCI_LDAP_MAX_TIME_MS,
    maxFilterDepth: config.DMCI_LDAP_MAX_FILTER_DEPTH,
    maxFilterBytes: config.DMCI_LDAP_MAX_FILTER_BYTES,
    idleTimeoutMs: config.DMCI_LDAP_IDLE_TIMEOUT_MS,
    maxConnections: config.DMCI_LDAP_MAX_CONNECTIONS,
    maxConnectionsPerAddress: config.DMCI_LDAP_MAX_CONNECTIONS_PER_IP,
    maxUnreadBytes: config.DMCI_LDAP_MAX_UNREAD_MB * 1024 * 1024,
    bindDeadlineMs: config.DMCI_LDAP_BIND_DEADLINE_MS,
    requireTls: config.DMCI_LDAP_REQUIRE_TLS,
  };
}

/**
 * Starts the LDAP door (and LDAPS when DMCI_TLS_CERT/KEY are set) on the
 * same services and the same failed-login guard as the WebSocket door, so
 * guessing passwords over LDAP blocks an address on both.
 */
export async function startLdapDoor(deps: {
  config: Config;
  log: Logger;
  databaseUrl: string;
  accounts: AccountService;
  loginGuard: LoginGuard;
  ipScreen: IpScreen;
  version: string;
  metrics?: Metrics;
}): Promise<LdapDoor> {
  const { config, log } = deps;
  const limits = ldapLimits(config);
  const ldapLog = log.child({ door: 'ldap' });
  // A pool of its own whose sessions carry dmci's time cap, so a search needs no extra statement to arm it.
  const { db } = createDatabase({
    url: withStatementTimeout(deps.databaseUrl, limits.maxTimeMs),
    poolSize: LDAP_DB_POOL_SIZE,
    applicationName: `dmci:${config.nodeId}:ldap`,
    prepared: PREPARED_STATEMENTS,
  });
  const index = new LdapIndex({ db, maxBytes: config.DMCI_LDAP_INDEX_MAX_MB * 1024 * 1024, log: ldapLog, onBytes: (bytes) => deps.metrics?.ldapIndexBytes.set(bytes) });
  // Searches answer from version and privilege reads this recent while the lease holds; writers wait as long (DMCI_DIRECTORY_READ_WINDOW_MS).
  const lease = new DirectoryReadLease({ db, nodeId: config.nodeId, windowMs: config.DMCI_DIRECTORY_READ_WINDOW_MS, log: ldapLog });
  const tls = config.tls ? { port: config.DMCI_LDAPS_PORT, cert: readFileSync(config.tls.certPath), key: readFileSync(config.tls.keyPath) } : undefined;
  const server = new LdapServer({
    limits,
    log: ldapLog,
    binder: new LdapBinder({ accounts: deps.accounts, loginGuard: deps.loginGuard, log: ldapLog }),
    // With a certificate, the plain port offers StartTLS (and the root DSE says so).
    search: new LdapSearch({ db, limits, vendorVersion: deps.version, supportedExtensions: tls ? [STARTTLS_OID] : [], index, lease }),
    ipScreen: deps.ipScreen,
    loginGuard: deps.loginGuard,
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
    ...(tls ? { startTls: createSecureContext({ cert: tls.cert, key: tls.key }) } : {}),
  });
  let ports;
  try {
    ports = await server.listen({ host: config.DMCI_HOST, port: config.DMCI_LDAP_PORT, ...(tls ? { tls } : {}) });
  } catch (error) {
    await server.close();
    await db.destroy();
    throw error;
  }
  const { port, tlsPort } = ports;
  ldapLog.info({ port, tlsPort: tlsPort ?? null }, 'LDAP listening');
  return {
    port,
    tlsPort,
    index,
    close: async () => {
      await server.close();
      // Writers stop waiting for this node at once (a node that dies instead costs writers the window until its lease expires).
      await lease.release().catch((error: unknown) => ldapLog.warn({ err: error }, 'directory read lease not released; it expires by itself'));
      await db.destroy();
    },
  };
}

/**
 * The database URL with `options=-c statement_timeout=<ms>` (libpq's startup options, which
 * node-postgres passes on), and no parallel plans: a search answers at most a size limit of
 * entries, and starting workers cost more than they saved (240 ms of a 280 ms `(mail=*ab*)`
 * over 100,000 entries, bench ldap).
 */
export function withStatementTimeout(url: string, timeoutMs: number): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', `${existing ? `${existing} ` : ''}-c statement_timeout=${timeoutMs} -c max_parallel_workers_per_gather=0`);
  return parsed.toString();
}
