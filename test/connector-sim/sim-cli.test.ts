import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSessions, parseAddressList, percentiles, runLoad } from '../../connector-sim/load.ts';
import { systemActor } from '../../server/accounts/actor.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';
import { runBin } from '../helpers/run.ts';

let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer();
  await server.createAccount('sim@example.com', DEFAULT_PASSWORD, 'user', 'Sim User');
  for (let n = 1; n <= 3; n++) await server.createAccount(`load${n}@example.com`);
  env = { DMCI_URL: server.url, DMCI_USER: 'sim@example.com', DMCI_PASSWORD: DEFAULT_PASSWORD };
});
afterAll(() => server.stop());

// Child processes: slow on a busy machine.
describe('dmci-sim', { timeout: 120_000 }, () => {
  it('login prints the welcome summary, as text and as JSON', async () => {
    // The text form runs bin/dmci-sim.mjs through tsx as installed; the rest spawn the run's bundle (binScript).
    const [text, json] = await Promise.all([runBin('dmci-sim', ['login'], { env, fromSource: true }), runBin('dmci-sim', ['--json', 'login'], { env })]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('logged in as sim@example.com (Sim User, user, domain example.com)');
    expect(json.code, json.stderr).toBe(0);
    const summary = JSON.parse(json.stdout) as { account: { email: string }; version: number; capabilities: string[] };
    expect(summary.account.email).toBe('sim@example.com');
    expect(summary.version).toBe(1);
    expect(summary.capabilities).toContain('Core');
    expect(json.stdout).not.toContain(DEFAULT_PASSWORD);
  });

  it('login with a wrong password (flags beat the environment) fails with the close code, exit 1', async () => {
    const result = await runBin('dmci-sim', ['--password', 'wrong password', 'login'], { env });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/wrong login or password \(close 4002, AUTH_FAILED\)/);
  });

  it('call prints a result, or the error code and message with exit 1, and refuses bad JSON with exit 2', async () => {
    const [ok, refused, badJson, notObject, noUser] = await Promise.all([
      runBin('dmci-sim', ['call', 'Core/echo', '{"payload":{"a":[1,2]}}'], { env }),
      runBin('dmci-sim', ['call', 'Admin/domainList'], { env }),
      runBin('dmci-sim', ['call', 'Core/echo', '{payload:1}'], { env }),
      runBin('dmci-sim', ['call', 'Core/echo', '[1]'], { env }),
      runBin('dmci-sim', ['call', 'Session/get'], { env: { DMCI_URL: server.url } }),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ payload: { a: [1, 2] } });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('FORBIDDEN: this needs a domain or global admin');
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('JSON-ARGS is not valid JSON');
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toContain('JSON-ARGS must be a JSON object');
    expect(noUser.code).toBe(2);
    expect(noUser.stderr).toContain('--user');
  });

  it('call --json prints INVALID_ARGUMENTS with its details', async () => {
    const result = await runBin('dmci-sim', ['--json', 'call', 'Core/echo', '{"nope":1}'], { env });
    expect(result.code).toBe(1);
    const body = JSON.parse(result.stdout) as { error: { code: string; details: unknown[] } };
    expect(body.error.code).toBe('INVALID_ARGUMENTS');
    expect(body.error.details.length).toBeGreaterThan(0);
  });

  it('load opens N sessions over several source addresses and reports latency percentiles', async () => {
    const result = await runBin(
      'dmci-sim',
      ['--json', '--user', 'load{n}@example.com', 'load', '--clients', '6', '--duration', '0', '--accounts', '3', '--source-addresses', '127.0.0.1-127.0.0.3'],
      { env },
    );
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as { requested: number; connected: number; failed: number; connect: { count: number; p50: number; max: number }; auth: { count: number; p99: number } };
    expect(report).toMatchObject({ requested: 6, connected: 6, failed: 0 });
    expect(report.connect.count).toBe(6);
    expect(report.auth.count).toBe(6);
    expect(report.connect.max).toBeGreaterThanOrEqual(report.connect.p50);

    const text = await runBin('dmci-sim', ['--password', 'wrong password', 'load', '--clients', '2', '--duration', '0'], { env });
    expect(text.code).toBe(1);
    expect(text.stdout).toContain('0/2 connected, 2 failed');
    expect(text.stdout).toContain('2 × AUTH_FAILED');
    expect(text.stdout).toMatch(/connect +p50 /);

    const bad = await runBin('dmci-sim', ['load', '--clients', 'many', '--duration', '1'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--clients must be a whole number');
  });
});

describe('load helpers', () => {
  it('parses address lists and ranges', () => {
    expect(parseAddressList('127.0.0.1-127.0.0.3')).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
    expect(parseAddressList('127.0.0.9-10, 10.0.0.1')).toEqual(['127.0.0.9', '127.0.0.10', '10.0.0.1']);
    expect(() => parseAddressList('127.0.0.5-127.0.0.1')).toThrow(/backwards/);
    expect(() => parseAddressList('localhost')).toThrow(/not an IP address/);
  });

  it('computes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentiles(values)).toEqual({ count: 100, p50: 50, p90: 90, p99: 99, max: 100 });
    expect(percentiles([])).toEqual({ count: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('runLoad ramps and reports; openSessions counts sessions the server drops', async () => {
    const credentials = (i: number) => ({ login: `load${(i % 3) + 1}@example.com`, password: DEFAULT_PASSWORD });
    const report = await runLoad({ url: server.url, clients: 4, durationMs: 0, rampPerSecond: 40, maxPending: 2, credentials });
    expect(report).toMatchObject({ requested: 4, connected: 4, failed: 0, dropped: 0, failures: {} });
    expect(report.auth.count).toBe(4);

    await server.createAccount('leaver@example.com');
    const set = await openSessions({ url: server.url, clients: 3, credentials: () => ({ login: 'leaver@example.com', password: DEFAULT_PASSWORD }) });
    expect(set.clients).toHaveLength(3);
    const closed = Promise.all(set.clients.map((c) => new Promise((resolve) => c.once('close', resolve))));
    await server.app.services.accounts.setEnabled(systemActor, 'leaver@example.com', false);
    await closed;
    expect(set.dropped).toBe(3);
    await set.closeAll();
  });
});
