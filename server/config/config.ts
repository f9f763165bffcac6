import { isIP } from 'node:net';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { DefaultLimits } from '../../protocol/index.ts';
import { isHostPattern } from '../security/host-screen.ts';
import { ConfigFileError, readConfigFile } from './config-file.ts';

/**
 * Every setting comes from an environment variable; docs/operations.md has the
 * table. A bad value stops start-up with ConfigError naming the variable.
 */

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0', 'yes', 'no']).transform((v) => v === 'true' || v === '1' || v === 'yes');
const cidrList = z
  .string()
  .transform((s) => s.split(',').map((part) => part.trim()).filter(Boolean));

/** name → [schema, default]. Order is the order of docs/operations.md. */
const settings = {
  DMCI_HOST: [z.string().min(1), '0.0.0.0'],
  DMCI_PORT: [port, '8390'],
  DMCI_OPS_PORT: [port, '8391'],
  // Loopback by default: the ops door has no authentication (issue 7 §10). Set an interface address to expose it.
  DMCI_OPS_HOST: [z.string().min(1), '127.0.0.1'],
  DMCI_LDAP_PORT: [port, '1389'],
  DMCI_LDAPS_PORT: [port, '1636'],
  // Internet free/busy door (server/freebusy/freebusy-http.ts): off unless a port is set.
  DMCI_FREEBUSY_PORT: [port.optional(), undefined],
  DMCI_FREEBUSY_HOST: [z.string().min(1), '0.0.0.0'],
  // Open connections of the free/busy door per address and in all (docs/security.md "Free/busy").
  DMCI_FREEBUSY_MAX_CONNECTIONS_PER_IP: [positiveInt, '20'],
  DMCI_FREEBUSY_MAX_CONNECTIONS: [positiveInt, '1000'],
  // LDAP door limits (docs/ldap.md): ldapjs enforces none itself.
  DMCI_LDAP_ALLOW_ANONYMOUS: [bool, 'false'],
  DMCI_LDAP_MAX_SIZE: [positiveInt.max(100_000), '1000'],
  DMCI_LDAP_MAX_TIME_MS: [positiveInt, '10000'],
  DMCI_LDAP_MAX_FILTER_DEPTH: [positiveInt.max(256), '16'],
  DMCI_LDAP_MAX_FILTER_BYTES: [positiveInt.max(65_536), '4096'],
  DMCI_LDAP_IDLE_TIMEOUT_MS: [positiveInt, '300000'],
  DMCI_LDAP_MAX_CONNECTIONS: [positiveInt, '1000'],
  DMCI_LDAP_REQUIRE_TLS: [bool, 'false'],
  DMCI_LDAP_MAX_CONNECTIONS_PER_IP: [positiveInt, '100'],
  DMCI_LDAP_BIND_DEADLINE_MS: [positiveInt, '10000'],
  DMCI_LDAP_MAX_UNREAD_MB: [positiveInt.max(1_048_576), '256'],
  // The LDAP door's in-memory GAL index (server/ldap/ldap-index.ts), all domains together; 0 = off (SQL answers every search).
  DMCI_LDAP_INDEX_MAX_MB: [z.coerce.number().int().min(0).max(1_048_576), '256'],
  // How long an LDAP node may answer from a directory/account read it already made; every directory or account write waits this long
  // after commit while some node holds a read lease (server/cluster/directory-read-lease.ts); 0 = every search reads, writes never wait.
  DMCI_DIRECTORY_READ_WINDOW_MS: [z.coerce.number().int().min(0).max(1_000), '50'],
  DMCI_DATA_DIR: [z.string().min(1), './.dmci'],
  DATABASE_URL: [z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(), undefined],
  DMCI_DB_WAIT_MS: [z.coerce.number().int().min(0).max(600_000), '10000'],
  DMCI_DB_POOL_SIZE: [positiveInt.max(200), '10'],
  // The embedded PostgreSQL's shared_buffers (server/db/embedded-postgres.ts); unset: a quarter of the memory, 128–2048 MB.
  DMCI_PG_SHARED_BUFFERS_MB: [positiveInt.min(16).max(1_048_576).optional(), undefined],
  DMCI_LOG_LEVEL: [z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'],
  DMCI_TLS_CERT: [z.string().min(1).optional(), undefined],
  DMCI_TLS_KEY: [z.string().min(1).optional(), undefined],
  DMCI_NODE_ID: [z.string().min(1).max(64).optional(), undefined],
  DMCI_MAX_PAYLOAD: [positiveInt.max(16 * 1024 * 1024), String(DefaultLimits.maxFrameBytes)],
  DMCI_MAX_IN_FLIGHT: [positiveInt.max(10_000), String(DefaultLimits.maxInFlight)],
  DMCI_REQUESTS_PER_SECOND: [positiveInt, String(DefaultLimits.requestsPerSecond)],
  DMCI_REQUEST_BURST: [positiveInt, String(DefaultLimits.requestBurst)],
  DMCI_AUTH_DEADLINE_MS: [positiveInt, String(DefaultLimits.authDeadlineMs)],
  DMCI_HEARTBEAT_MS: [positiveInt.min(100), String(DefaultLimits.heartbeatMs)],
  DMCI_REQUEST_TIMEOUT_MS: [positiveInt, '30000'],
  DMCI_HIGH_WATER_BYTES: [positiveInt, String(4 * 1024 * 1024)],
  DMCI_CLOSE_WATER_BYTES: [positiveInt, String(DefaultLimits.maxUnreadBytes)],
  DMCI_MAX_SESSIONS_PER_USER: [positiveInt, '20'],
  DMCI_MAX_CONNECTIONS_PER_IP: [positiveInt, '10000'],
  DMCI_RESUME_TOKEN_TTL_HOURS: [positiveInt, String(24 * 30)],
  DMCI_HASH_CONCURRENCY: [positiveInt.max(64), '4'],
  DMCI_HASH_QUEUE_MAX: [positiveInt.max(100_000), '128'],
  DMCI_HASH_QUEUE_PER_ADDRESS: [positiveInt.max(1000), '2'],
  DMCI_TRUSTED_HOSTS: [cidrList, ''],
  DMCI_IP_ALLOW: [cidrList, ''],
  DMCI_IP_DENY: [cidrList, ''],
  DMCI_HOST_ALLOW: [cidrList, ''],
  DMCI_HOST_DENY: [cidrList, ''],
  DMCI_HOST_SCREEN_TTL_MS: [positiveInt, String(5 * 60_000)],
  DMCI_SCREEN_FAILURES: [positiveInt, '10'],
  DMCI_SCREEN_WINDOW_MS: [positiveInt, String(10 * 60_000)],
  DMCI_SCREEN_BLOCK_MS: [positiveInt, String(15 * 60_000)],
  DMCI_LOGIN_DELAY_MAX_MS: [z.coerce.number().int().min(0), '15000'],
  DMCI_LOGIN_QUEUE_PER_ADDRESS: [z.coerce.number().int().min(0).max(10_000), '16'],
  DMCI_SHUTDOWN_GRACE_MS: [positiveInt, '10000'],
  DMCI_POLL_INTERVAL_MS: [positiveInt, '2000'],
  DMCI_GAL_TOMBSTONE_DAYS: [positiveInt.max(3650), '30'],
  DMCI_GAL_SNAPSHOT_BYTES: [z.coerce.number().int().min(0).max(2 ** 34), String(64 * 1024 * 1024)],
  DMCI_NOTIFY_BATCH_MS: [z.coerce.number().int().min(0), '5'],
  DMCI_ARGON2_MEMORY_KIB: [positiveInt.min(1024), '19456'],
  DMCI_RUN_MIGRATIONS: [bool, 'true'],
  DMCI_TOMBSTONE_RETENTION_DAYS: [positiveInt.max(3650), '30'],
  DMCI_INSTANCE_HORIZON_DAYS: [positiveInt.min(30).max(3650), '730'],
  // Calendar worker threads (parsing and expansion off the event loop). A fixed default, so every node of a
  // cluster behaves alike and the documented value is the real one; raise it on machines with more cores.
  DMCI_ICAL_WORKERS: [positiveInt.max(64), '2'],
  DMCI_ICAL_QUEUE: [positiveInt.max(100_000), '256'],
  // Per-account fairness of that queue (docs/security.md "Expansion work"): tasks of one account waiting at most.
  DMCI_ICAL_QUEUE_PER_ACCOUNT: [positiveInt.max(100_000), '16'],
  // What one address may spend before authenticating, per window (docs/security.md "Before authentication").
  DMCI_PREAUTH_WINDOW_MS: [positiveInt, '60000'],
  DMCI_PREAUTH_MAX_CONNECTIONS: [positiveInt, '2000'],
  DMCI_PREAUTH_MAX_FRAMES: [positiveInt, '4000'],
  DMCI_PREAUTH_MAX_BYTES: [positiveInt, String(4 * 1024 * 1024)],
  DMCI_STORAGE_QUOTA_BYTES: [z.coerce.number().int().min(0), String(256 * 1024 * 1024)],
  // Per-organizer invitation rate (issue 10): attendee copies per minute, a bucket one minute deep (docs/protocol.md §Scheduling).
  DMCI_INVITATION_COPIES_PER_MINUTE: [positiveInt, '2000'],
  // Rooms (issue 10): how often each node answers the occurrences two endless series could not both book (docs/operations.md "Rooms").
  DMCI_ROOM_SKIP_POLL_MS: [positiveInt.min(100).max(3_600_000), '30000'],
  // The audit log (docs/operations.md "Audit log"): records older than this are pruned hourly.
  DMCI_AUDIT_RETENTION_DAYS: [positiveInt.max(36_500), '365'],
  // Screening shared through PostgreSQL (docs/security.md "Screening"): each node re-reads it on every change hint and at least this often.
  DMCI_SCREEN_POLL_MS: [positiveInt.min(100), '30000'],
  // The web admin console (docs/operations.md "Admin console"): its own door, loopback by default like the ops door.
  DMCI_CONSOLE_PORT: [port, '8393'],
  DMCI_CONSOLE_HOST: [z.string().min(1), '127.0.0.1'],
  DMCI_CONSOLE_IDLE_MS: [positiveInt.min(1000), '900000'],
  DMCI_CONSOLE_SESSION_MAX_MS: [positiveInt.min(1000), '28800000'],
  // iMIP out (docs/operations.md "Mail"): invitations to people outside the server. Unset: nothing is queued or mailed.
  DMCI_SMTP_URL: [z.string().regex(/^smtps?:\/\//, 'must be an smtp:// or smtps:// URL').optional(), undefined],
  DMCI_MAIL_FROM: [z.string().regex(/^[^@\s<>]+@[^@\s<>]+$/, 'must be a plain address').optional(), undefined],
  // organizer: From is the person who sends (organizer or answering attendee); sender: From is DMCI_MAIL_FROM, Reply-To the person.
  DMCI_MAIL_FROM_MODE: [z.enum(['organizer', 'sender']), 'organizer'],
  DMCI_SMTP_TIMEOUT_MS: [positiveInt.max(600_000), '30000'],
  DMCI_OUTBOX_POLL_MS: [positiveInt.min(100), '2000'],
  DMCI_OUTBOX_BATCH: [positiveInt.max(1000), '20'],
  DMCI_OUTBOX_LEASE_MS: [positiveInt.min(1000), '120000'],
  DMCI_OUTBOX_RETRY_BASE_MS: [positiveInt.min(100), '60000'],
  DMCI_OUTBOX_RETRY_MAX_MS: [positiveInt.min(100), '3600000'],
  DMCI_OUTBOX_DEAD_AFTER_MS: [positiveInt.min(1000), '172800000'],
  DMCI_OUTBOX_RETENTION_DAYS: [positiveInt.max(3650), '30'],
  // iMIP in (docs/operations.md "Mail"): the LMTP door the MTA delivers scheduling replies to. Off unless a port is set.
  DMCI_LMTP_PORT: [port.optional(), undefined],
  DMCI_LMTP_HOST: [z.string().min(1), '127.0.0.1'],
  DMCI_LMTP_MAX_BYTES: [positiveInt.max(64 * 1024 * 1024), '1048576'],
  DMCI_LMTP_MAX_CONNECTIONS: [positiveInt.max(10_000), '20'],
  DMCI_LMTP_TIMEOUT_MS: [positiveInt.max(3_600_000), '60000'],
} as const;

type Settings = typeof settings;
export type RawConfig = { [K in keyof Settings]: z.output<Settings[K][0]> };

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`invalid ${variable}: ${problem}`);
  }
}

export interface Config extends RawConfig {
  /** DMCI_DATA_DIR resolved to an absolute path. */
  dataDir: string;
  /** Present when both DMCI_TLS_CERT and DMCI_TLS_KEY are set. */
  tls: { certPath: string; keyPath: string } | undefined;
  nodeId: string;
  /** The config file read (config-file.ts), if any, and every place looked at. */
  configFile: string | undefined;
  configSearched: string[];
}

/**
 * Reads the configuration: the environment, over the config file
 * (config-file.ts), over the defaults. Throws ConfigError on the first bad value.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  let file;
  try {
    file = readConfigFile(env, cwd, new Set(Object.keys(settings)));
  } catch (error) {
    if (error instanceof ConfigFileError) throw new ConfigError('DMCI_CONFIG', error.message);
    throw error;
  }
  const raw: Record<string, unknown> = {};
  for (const [name, [schema, fallback]] of Object.entries(settings)) {
    const value = env[name] !== undefined && env[name] !== '' ? env[name] : (file.values[name] ?? fallback);
    const parsed = (schema as z.ZodType).safeParse(value);
    if (!parsed.success) {
      throw new ConfigError(name, `${JSON.stringify(value)}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
    raw[name] = parsed.data;
  }
  const config = raw as RawConfig;
  if (Boolean(config.DMCI_TLS_CERT) !== Boolean(config.DMCI_TLS_KEY)) {
    throw new ConfigError(config.DMCI_TLS_CERT ? 'DMCI_TLS_KEY' : 'DMCI_TLS_CERT', 'TLS needs both DMCI_TLS_CERT and DMCI_TLS_KEY');
  }
  if (config.DMCI_CLOSE_WATER_BYTES <= config.DMCI_HIGH_WATER_BYTES) {
    throw new ConfigError('DMCI_CLOSE_WATER_BYTES', 'must be larger than DMCI_HIGH_WATER_BYTES');
  }
  if (config.DMCI_MAIL_FROM_MODE === 'sender' && !config.DMCI_MAIL_FROM) throw new ConfigError('DMCI_MAIL_FROM', 'DMCI_MAIL_FROM_MODE=sender needs a sender address');
  if (config.DMCI_OUTBOX_LEASE_MS <= config.DMCI_SMTP_TIMEOUT_MS) throw new ConfigError('DMCI_OUTBOX_LEASE_MS', 'must be longer than DMCI_SMTP_TIMEOUT_MS (a send must end before its lease does)');
  for (const name of ['DMCI_TRUSTED_HOSTS', 'DMCI_IP_ALLOW', 'DMCI_IP_DENY'] as const) {
    for (const cidr of config[name]) {
      if (!isValidCidr(cidr)) throw new ConfigError(name, `${JSON.stringify(cidr)} is not an IP address or CIDR block`);
    }
  }
  for (const name of ['DMCI_HOST_ALLOW', 'DMCI_HOST_DENY'] as const) {
    for (const pattern of config[name]) {
      if (!isHostPattern(pattern)) throw new ConfigError(name, `${JSON.stringify(pattern)} is not a host name or a *.domain pattern`);
    }
  }
  const dataDir = isAbsolute(config.DMCI_DATA_DIR) ? config.DMCI_DATA_DIR : resolve(cwd, config.DMCI_DATA_DIR);
  return {
    ...config,
    dataDir,
    tls: config.DMCI_TLS_CERT && config.DMCI_TLS_KEY ? { certPath: config.DMCI_TLS_CERT, keyPath: config.DMCI_TLS_KEY } : undefined,
    nodeId: config.DMCI_NODE_ID ?? `node-${Math.random().toString(36).slice(2, 10)}`,
    configFile: file.path,
    configSearched: file.searched,
  };
}

/** Names, defaults and the schema's description of every setting, for `dmci config` and the docs test. */
export function settingNames(): Array<{ name: string; default: string | undefined }> {
  return Object.entries(settings).map(([name, [, fallback]]) => ({ name, default: fallback }));
}

function isValidCidr(text: string): boolean {
  const [address, bits, ...rest] = text.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}
