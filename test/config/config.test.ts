import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, settingNames } from '../../server/config/config.ts';
import { runBin } from '../helpers/run.ts';

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env, '/srv/dmci');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({}, '/srv/dmci');
    expect(config).toMatchObject({
      DMCI_PORT: 8390,
      DMCI_OPS_PORT: 8391,
      DMCI_LDAP_PORT: 1389,
      DMCI_LDAPS_PORT: 1636,
      DMCI_DATA_DIR: './.dmci',
      dataDir: '/srv/dmci/.dmci',
      DATABASE_URL: undefined,
      DMCI_LOG_LEVEL: 'info',
      DMCI_MAX_PAYLOAD: 1024 * 1024,
      DMCI_AUTH_DEADLINE_MS: 10_000,
      tls: undefined,
    });
    expect(config.nodeId).toMatch(/^node-/);
  });

  it('keeps the unauthenticated ops door on loopback unless told otherwise', () => {
    expect(loadConfig({}, '/srv/dmci').DMCI_OPS_HOST).toBe('127.0.0.1');
    expect(loadConfig({ DMCI_OPS_HOST: '10.1.2.3' }, '/srv/dmci').DMCI_OPS_HOST).toBe('10.1.2.3');
  });

  it('reads values and resolves the data directory', () => {
    const config = loadConfig({ DMCI_PORT: '9000', DMCI_DATA_DIR: 'var/data', DATABASE_URL: 'postgresql://u@h/db', DMCI_TLS_CERT: '/c.pem', DMCI_TLS_KEY: '/k.pem', DMCI_TRUSTED_HOSTS: '10.0.0.0/8, ::1', DMCI_RUN_MIGRATIONS: 'no', DMCI_NODE_ID: 'n1' }, '/srv');
    expect(config).toMatchObject({ DMCI_PORT: 9000, dataDir: '/srv/var/data', tls: { certPath: '/c.pem', keyPath: '/k.pem' }, DMCI_TRUSTED_HOSTS: ['10.0.0.0/8', '::1'], DMCI_RUN_MIGRATIONS: false, nodeId: 'n1' });
  });

  it.each([
    [{ DMCI_PORT: 'abc' }, 'DMCI_PORT'],
    [{ DMCI_PORT: '70000' }, 'DMCI_PORT'],
    [{ DMCI_OPS_PORT: '-1' }, 'DMCI_OPS_PORT'],
    [{ DMCI_LOG_LEVEL: 'loud' }, 'DMCI_LOG_LEVEL'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ DMCI_TLS_CERT: '/cert.pem' }, 'DMCI_TLS_KEY'],
    [{ DMCI_TLS_KEY: '/key.pem' }, 'DMCI_TLS_CERT'],
    [{ DMCI_IP_DENY: '999.1.1.1' }, 'DMCI_IP_DENY'],
    [{ DMCI_IP_ALLOW: '10.0.0.0/33' }, 'DMCI_IP_ALLOW'],
    [{ DMCI_TRUSTED_HOSTS: 'example.com' }, 'DMCI_TRUSTED_HOSTS'],
    [{ DMCI_HEARTBEAT_MS: '10' }, 'DMCI_HEARTBEAT_MS'],
    [{ DMCI_RUN_MIGRATIONS: 'maybe' }, 'DMCI_RUN_MIGRATIONS'],
    [{ DMCI_DB_WAIT_MS: '-1' }, 'DMCI_DB_WAIT_MS'],
    [{ DMCI_HIGH_WATER_BYTES: '100', DMCI_CLOSE_WATER_BYTES: '50' }, 'DMCI_CLOSE_WATER_BYTES'],
  ])('refuses %j, naming %s', (env, variable) => {
    const error = configError(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(variable);
  });

  it('lists every setting with its default', () => {
    const names = settingNames().map((s) => s.name);
    expect(names).toEqual(expect.arrayContaining(['DMCI_PORT', 'DMCI_OPS_PORT', 'DMCI_LDAP_PORT', 'DMCI_DATA_DIR', 'DATABASE_URL', 'DMCI_LOG_LEVEL', 'DMCI_TLS_CERT', 'DMCI_TLS_KEY']));
  });
});

describe('dmci start with a bad setting', { timeout: 120_000 }, () => {
  it('exits 2 with a message naming the variable', async () => {
    const result = await runBin('dmci', ['start'], { env: { DMCI_PORT: 'abc' }, fromSource: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('DMCI_PORT');
    expect(result.stderr).toMatch(/^dmci: invalid DMCI_PORT: "abc"/);
  });
});
