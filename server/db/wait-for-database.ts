import pg from 'pg';
import type { Logger } from '../log/logger.ts';

/** Errors that mean "not up yet" (worth waiting for), as opposed to a wrong password or a missing database. */
const TRANSIENT = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', '57P03' /* cannot_connect_now: starting up */]);
const RETRY_MS = 250;

/**
 * At start-up, waits up to `waitMs` (DMCI_DB_WAIT_MS) for the database to
 * accept a connection: a node started together with its PostgreSQL (one
 * boot, one systemd target) should not fail because it won the race. Past
 * the wait, or at once for an error that waiting cannot fix, it throws one
 * clear error.
 */
export async function waitForDatabase(url: string, waitMs: number, log: Logger): Promise<void> {
  const deadline = Date.now() + waitMs;
  let logged = false;
  for (;;) {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: Math.max(1000, Math.min(waitMs, 10_000)) });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => {});
      const code = (error as { code?: string }).code ?? '';
      const transient = TRANSIENT.has(code) || /timeout/i.test((error as Error).message);
      if (!transient || Date.now() + RETRY_MS > deadline) {
        throw new Error(`database ${describe(url)} unreachable${transient ? ` after waiting ${waitMs} ms (DMCI_DB_WAIT_MS)` : ''}: ${(error as Error).message || code}`, { cause: error });
      }
      if (!logged) log.warn({ database: describe(url), err: (error as Error).message, waitMs }, 'database not reachable yet; waiting');
      logged = true;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }
}

/** The URL without its password, for messages. */
function describe(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return `${decodeURIComponent(parsed.host)}${parsed.pathname}`;
  } catch {
    return '(unparseable URL)';
  }
}
