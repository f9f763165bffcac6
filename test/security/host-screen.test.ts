import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmciClient } from '../../connector-sim/client.ts';
import { ConfigError, loadConfig } from '../../server/config/config.ts';
import { HostScreen, matchesHost, type HostResolver } from '../../server/security/host-screen.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/** DESIGN §7's host screen: host names by forward-confirmed reverse DNS, before the upgrade. */
function resolver(ptr: Record<string, string>, a: Record<string, string[]>): HostResolver & { calls: number } {
  const r = {
    calls: 0,
    async reverse(address: string) {
      r.calls++;
      return ptr[address];
    },
    async forward(name: string) {
      return a[name] ?? [];
    },
  };
  return r;
}

describe('HostScreen', () => {
  const dns = resolver(
    { '192.0.2.1': 'gw.corp.example', '192.0.2.2': 'mail.bank.example', '192.0.2.3': 'evil.other.example' },
    { 'gw.corp.example': ['192.0.2.1'], 'mail.bank.example': ['198.51.100.7'], 'evil.other.example': ['192.0.2.3'] },
  );

  it('only believes a name that resolves back to the address', async () => {
    const screen = new HostScreen({ allow: ['*.corp.example'], deny: [] }, { ttlMs: 60_000, resolver: dns });
    expect(await screen.confirmedName('192.0.2.1')).toBe('gw.corp.example');
    expect(await screen.confirmedName('192.0.2.2')).toBeUndefined(); // PTR claims a name that points elsewhere
    expect(await screen.refusal('192.0.2.1')).toBeUndefined();
    expect(await screen.refusal('192.0.2.2')).toMatch(/no forward-confirmed host name/);
    expect(await screen.refusal('192.0.2.3')).toBe('host evil.other.example is not on the allow list');
  });

  it('applies the deny list to confirmed names, and does no lookups without lists', async () => {
    const deny = new HostScreen({ allow: [], deny: ['evil.other.example'] }, { ttlMs: 60_000, resolver: dns });
    expect(await deny.refusal('192.0.2.3')).toBe('host evil.other.example is on the deny list');
    expect(await deny.refusal('192.0.2.1')).toBeUndefined();
    const counting = resolver({}, {});
    const off = new HostScreen({ allow: [], deny: [] }, { ttlMs: 60_000, resolver: counting });
    expect(off.enabled).toBe(false);
    expect(await off.refusal('192.0.2.9')).toBeUndefined();
    expect(counting.calls).toBe(0);
  });

  it('caches per address for the TTL', async () => {
    let now = 0;
    const counting = resolver({ '192.0.2.1': 'gw.corp.example' }, { 'gw.corp.example': ['192.0.2.1'] });
    const screen = new HostScreen({ allow: ['gw.corp.example'], deny: [] }, { ttlMs: 1000, resolver: counting, now: () => now });
    await Promise.all([screen.refusal('192.0.2.1'), screen.refusal('192.0.2.1')]);
    await screen.refusal('192.0.2.1');
    expect(counting.calls).toBe(1);
    now = 2000;
    await screen.refusal('192.0.2.1');
    expect(counting.calls).toBe(2);
  });

  it('matches exact names and *.suffix wildcards, case-insensitively', () => {
    expect(matchesHost('*.Corp.Example', 'a.b.corp.example')).toBe(true);
    expect(matchesHost('*.corp.example', 'corp.example')).toBe(false);
    expect(matchesHost('*.corp.example', 'evilcorp.example')).toBe(false);
    expect(matchesHost('gw.corp.example', 'gw.corp.example')).toBe(true);
  });

  it('refuses bad patterns in the configuration, naming the variable', () => {
    expect(() => loadConfig({ DMCI_HOST_ALLOW: 'ok.example,bad_name!' })).toThrow(ConfigError);
    expect(() => loadConfig({ DMCI_HOST_DENY: '*.*.example' })).toThrow(/DMCI_HOST_DENY/);
    expect(loadConfig({ DMCI_HOST_ALLOW: 'localhost, *.corp.example' }).DMCI_HOST_ALLOW).toEqual(['localhost', '*.corp.example']);
  });
});

describe('the host screen at the WebSocket upgrade (127.0.0.1 is "localhost" in /etc/hosts)', () => {
  let denying: TestServer;
  let allowing: TestServer;
  let allowingOthers: TestServer;
  beforeAll(async () => {
    [denying, allowing, allowingOthers] = await Promise.all([
      startTestServer({ DMCI_HOST_DENY: 'localhost' }),
      startTestServer({ DMCI_HOST_ALLOW: 'localhost' }),
      startTestServer({ DMCI_HOST_ALLOW: '*.corp.example' }),
    ]);
    await allowing.createAccount('hal@example.com');
  });
  afterAll(() => Promise.all([denying.stop(), allowing.stop(), allowingOthers.stop()]));

  it('refuses a denied host and a host off the allow list with 403, and lets an allowed one in', async () => {
    await expect(new DmciClient({ url: denying.url, login: 'x@example.com', password: 'x' }).connect()).rejects.toThrow(/HTTP 403/);
    await expect(new DmciClient({ url: allowingOthers.url, login: 'x@example.com', password: 'x' }).connect()).rejects.toThrow(/HTTP 403/);
    const client = await allowing.connect('hal@example.com');
    expect(client.welcome?.account.email).toBe('hal@example.com');
    expect(denying.logLines().some((l) => l.msg === 'connection refused by the host screen' && String(l.refusal).includes('localhost'))).toBe(true);
  });
});
