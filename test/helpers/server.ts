import { PassThrough } from 'node:stream';
import { DmciClient, type DmciClientOptions } from '../../connector-sim/client.ts';
import type { Role } from '../../protocol/index.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { startApp, type RunningApp } from '../../server/app.ts';
import { loadConfig } from '../../server/config/config.ts';
import { createLogger } from '../../server/log/logger.ts';
import { createTestDatabase, dropTestDatabase } from './database.ts';

export interface TestServer {
  app: RunningApp;
  url: string;
  opsUrl: string;
  databaseUrl: string;
  /** Every log line the server wrote, parsed. */
  logLines(): Array<Record<string, unknown>>;
  /** Creates the domain if needed and an account in it. */
  createAccount(email: string, password?: string, role?: Role, displayName?: string): Promise<void>;
  /** A connected client for an account created with createAccount. */
  connect(email: string, password?: string, options?: Partial<DmciClientOptions>): Promise<DmciClient>;
  stop(): Promise<void>;
}

export const DEFAULT_PASSWORD = 'correct horse battery staple';

/**
 * Starts the real server (the same startApp `dmci start` runs) on port 0
 * against a fresh database. Tests talk to it through connector-sim.
 */
export async function startTestServer(env: Record<string, string> = {}, options: { databaseUrl?: string } = {}): Promise<TestServer> {
  const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
  const config = loadConfig({
    DMCI_PORT: '0',
    DMCI_OPS_PORT: '0',
    DMCI_CONSOLE_PORT: '0',
    DMCI_LDAP_PORT: '0',
    DMCI_LDAPS_PORT: '0',
    DMCI_HOST: '127.0.0.1',
    DMCI_OPS_HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    DMCI_LOG_LEVEL: 'debug',
    // Tests hash many passwords: the cheapest argon2id the config allows.
    DMCI_ARGON2_MEMORY_KIB: '1024',
    DMCI_NOTIFY_BATCH_MS: '2',
    DMCI_LOGIN_DELAY_MAX_MS: '0',
    DMCI_SHUTDOWN_GRACE_MS: '2000',
    ...env,
  });
  const logStream = new PassThrough();
  const lines: string[] = [];
  let partial = '';
  logStream.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
  });
  const log = createLogger(config.DMCI_LOG_LEVEL, logStream);
  const app = await startApp({ config, log, databaseUrl });
  const url = `ws://127.0.0.1:${app.port}`;
  const clients: DmciClient[] = [];
  const ownsDatabase = options.databaseUrl === undefined;

  return {
    app,
    url,
    opsUrl: `http://127.0.0.1:${app.opsPort}`,
    databaseUrl,
    logLines: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    async createAccount(email, password = DEFAULT_PASSWORD, role = 'user', displayName) {
      const domain = email.split('@')[1]!;
      await app.services.domains.create(systemActor, domain).catch((error: { code?: string }) => {
        if (error.code !== 'ALREADY_EXISTS') throw error;
      });
      await app.services.accounts.create(systemActor, { email, displayName: displayName ?? email.split('@')[0]!, password, role });
    },
    async connect(email, password = DEFAULT_PASSWORD, clientOptions = {}) {
      const client = new DmciClient({ url, login: email, password, requestTimeoutMs: 10_000, ...clientOptions });
      clients.push(client);
      await client.connect();
      return client;
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await app.stop();
      if (ownsDatabase) await dropTestDatabase(databaseUrl);
    },
  };
}
