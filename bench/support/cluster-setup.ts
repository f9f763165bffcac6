import { systemActor } from '../../server/accounts/actor.ts';
import { withServices } from '../../server/cli/cli-context.ts';
import { loadConfig } from '../../server/config/config.ts';
import { createLogger } from '../../server/log/logger.ts';
import { BenchChild } from './child.ts';

export const BENCH_PASSWORD = 'bench password 1';

/** Migrates the database and creates a domain and a global admin (as `dmci` would), through whom a benchmark creates everything else over the protocol. */
export async function prepareDatabase(url: string): Promise<{ admin: { login: string; password: string } }> {
  const config = loadConfig({ DATABASE_URL: url, DMCI_ARGON2_MEMORY_KIB: '1024' });
  await withServices(config, createLogger('warn'), async ({ domains, accounts }) => {
    await domains.create(systemActor, 'bench.example');
    await accounts.create(systemActor, { email: 'admin@bench.example', displayName: 'Bench admin', password: BENCH_PASSWORD, role: 'global_admin' });
  });
  return { admin: { login: 'admin@bench.example', password: BENCH_PASSWORD } };
}

/** A dmci node in a child process (so the load generator never shares its event loop). */
export async function startBenchServer(databaseUrl: string, env: Record<string, string> = {}): Promise<{ server: BenchChild; url: string; opsPort: number }> {
  const { child, ready } = await BenchChild.start('./dmci-server.ts', {
    DATABASE_URL: databaseUrl,
    DMCI_PORT: '0',
    DMCI_OPS_PORT: '0',
    DMCI_CONSOLE_PORT: '0',
    DMCI_LDAP_PORT: '0',
    DMCI_HOST: '127.0.0.1',
    DMCI_LOG_LEVEL: 'warn',
    DMCI_ARGON2_MEMORY_KIB: '1024',
    DMCI_MAX_SESSIONS_PER_USER: '2000',
    DMCI_MAX_CONNECTIONS_PER_IP: '20000',
    DMCI_REQUESTS_PER_SECOND: '100000',
    DMCI_REQUEST_BURST: '100000',
    DMCI_AUTH_DEADLINE_MS: '120000',
    // Every benchmark connects from 127.0.0.1: the pre-auth budget per address would throttle it.
    DMCI_PREAUTH_MAX_CONNECTIONS: '100000000',
    DMCI_PREAUTH_MAX_FRAMES: '100000000',
    DMCI_PREAUTH_MAX_BYTES: String(2 ** 40),
    ...env,
  });
  return { server: child, url: `ws://127.0.0.1:${ready.port as number}`, opsPort: ready.opsPort as number };
}
