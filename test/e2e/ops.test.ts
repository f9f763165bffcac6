import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { openRaw } from '../helpers/raw-socket.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** Issue 2 §8: /healthz, /readyz with its checks, and /metrics whose figures move. */
let server: TestServer;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('olga@example.com');
});
afterAll(() => server.stop());

async function metrics(): Promise<string> {
  const response = await fetch(`${server.opsUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return response.text();
}

/** The value of one sample, e.g. value(text, 'dmci_requests_total{method="Core/echo",outcome="ok"}'); 0 when absent. */
function value(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(sample + ' '));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}

describe('ops HTTP', () => {
  it('/healthz answers 200, /readyz 200 with its checks, unknown paths 404', async () => {
    const health = await fetch(`${server.opsUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${server.opsUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({
      ready: true,
      checks: { started: { ok: true }, database: { ok: true }, migrations: { ok: true }, listen: { ok: true }, draining: { ok: true } },
    });
    expect((await fetch(`${server.opsUrl}/nope`)).status).toBe(404);
    const status = await fetch(`${server.opsUrl}/status.json`);
    expect(await status.json()).toMatchObject({ draining: false, connections: expect.any(Number) });
  });

  it('/metrics exports the documented metrics, and their values move', async () => {
    const before = await metrics();
    for (const name of [
      'dmci_connections_open',
      'dmci_sessions_authenticated',
      'dmci_sessions_by_protocol_version',
      'dmci_auth_failures_total',
      'dmci_requests_total',
      'dmci_request_duration_seconds',
      'dmci_bytes_received_total',
      'dmci_bytes_sent_total',
    ]) {
      expect(before, name).toContain(`# TYPE ${name} `);
    }

    const failed = new DmciClient({ url: server.url, login: 'olga@example.com', password: 'wrong password' });
    await expect(failed.connect()).rejects.toMatchObject({ closeCode: 4002 });
    const anonymous = await openRaw(server.url);
    const a = await server.connect('olga@example.com');
    const b = await server.connect('olga@example.com');
    await a.request('Core/echo', { payload: 'x'.repeat(1000) });
    await a.request('Core/echo', { payload: 2 });
    await expect(a.call('Core/echo', { bad: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENTS' });
    await expect(a.call('Nope/nothing', {})).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' });

    const during = await metrics();
    expect(value(during, 'dmci_connections_open')).toBe(value(before, 'dmci_connections_open') + 3);
    expect(value(during, 'dmci_sessions_authenticated')).toBe(value(before, 'dmci_sessions_authenticated') + 2);
    expect(value(during, 'dmci_sessions_by_protocol_version{version="1"}')).toBe(value(before, 'dmci_sessions_by_protocol_version{version="1"}') + 2);
    expect(value(during, 'dmci_auth_failures_total{reason="bad_password"}')).toBe(value(before, 'dmci_auth_failures_total{reason="bad_password"}') + 1);
    expect(value(during, 'dmci_requests_total{method="Core/echo",outcome="ok"}')).toBe(value(before, 'dmci_requests_total{method="Core/echo",outcome="ok"}') + 2);
    expect(value(during, 'dmci_requests_total{method="Core/echo",outcome="INVALID_ARGUMENTS"}')).toBe(1);
    expect(value(during, 'dmci_requests_total{method="unknown",outcome="UNKNOWN_METHOD"}')).toBe(1);
    expect(value(during, 'dmci_request_duration_seconds_count{method="Core/echo"}')).toBe(value(before, 'dmci_request_duration_seconds_count{method="Core/echo"}') + 3);
    expect(value(during, 'dmci_bytes_received_total')).toBeGreaterThan(value(before, 'dmci_bytes_received_total') + 1000);
    expect(value(during, 'dmci_bytes_sent_total')).toBeGreaterThan(value(before, 'dmci_bytes_sent_total') + 1000);

    await Promise.all([a.close(), b.close()]);
    anonymous.ws.close();
    await anonymous.closed;
    // Closing is asynchronous on the server side too: poll briefly until the gauges settle.
    let after = await metrics();
    for (let i = 0; i < 50 && value(after, 'dmci_connections_open') !== value(before, 'dmci_connections_open'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await metrics();
    }
    expect(value(after, 'dmci_connections_open')).toBe(value(before, 'dmci_connections_open'));
    expect(value(after, 'dmci_sessions_authenticated')).toBe(value(before, 'dmci_sessions_authenticated'));
    expect(value(after, 'dmci_sessions_by_protocol_version{version="1"}')).toBe(value(before, 'dmci_sessions_by_protocol_version{version="1"}'));
  });
});
