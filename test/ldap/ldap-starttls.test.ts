import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasLdapsearch, hasOpenssl, ldapsearch, MISSING_LDAPSEARCH } from '../helpers/ldap.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, PASSWORD, startGalServer } from './gal-fixture.ts';

/**
 * LDAP for address books (issue 12 §7), driven by OpenLDAP's ldapsearch: the
 * root DSE anonymously with anonymous search off, StartTLS on the plain port
 * (-ZZ: fail unless TLS is established), DMCI_LDAP_REQUIRE_TLS refusing
 * password binds in the clear, and the LDAP metrics on /metrics.
 */
if (!hasLdapsearch) console.warn(MISSING_LDAPSEARCH);

describe.skipIf(!hasLdapsearch || !hasOpenssl)('LDAP root DSE, StartTLS and metrics', () => {
  let server: TestServer;
  let certDir: string;
  let url: string;

  beforeAll(async () => {
    certDir = mkdtempSync(join(tmpdir(), 'dmci-starttls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
    server = await startGalServer({ DMCI_TLS_CERT: join(certDir, 'cert.pem'), DMCI_TLS_KEY: join(certDir, 'key.pem'), DMCI_LDAP_REQUIRE_TLS: 'true' });
    url = `ldap://127.0.0.1:${server.app.ldapPort}`;
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(certDir, { recursive: true, force: true });
  });

  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
    return [...text.matchAll(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  };

  it('serves the root DSE to `ldapsearch -x -b "" -s base` with anonymous search off, advertising StartTLS', async () => {
    const result = await ldapsearch(['-x', '-LLL', '-H', url, '-b', '', '-s', 'base']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.entries[0]!.attrs).toMatchObject({
      supportedLDAPVersion: ['3'],
      subschemaSubentry: ['cn=Subschema'],
      supportedExtension: ['1.3.6.1.4.1.1466.20037'],
      supportedControl: ['1.2.840.113556.1.4.319'],
    });
    // The GAL itself stays closed to anonymous clients.
    expect((await ldapsearch(['-x', '-H', url, '-b', BASE])).code).toBe(50);
  });

  it('binds and searches over StartTLS (-ZZ)', async () => {
    const result = await ldapsearch(['-x', '-ZZ', '-LLL', '-H', url, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE, '(mail=bob@example.com)', 'mail']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.entries.map((e) => e.attrs.mail)).toEqual([['bob@example.com']]);
  });

  it('refuses a password bind without TLS with confidentialityRequired (13) under DMCI_LDAP_REQUIRE_TLS', async () => {
    const result = await ldapsearch(['-x', '-H', url, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE]);
    expect(result.code).toBe(13);
    expect(result.stderr).toMatch(/Confidentiality required/i);
    // LDAPS counts as TLS.
    const ldaps = await ldapsearch(['-x', '-LLL', '-H', `ldaps://127.0.0.1:${server.app.ldapsPort}`, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE, '(mail=bob@example.com)', 'mail']);
    expect(ldaps.code, ldaps.stderr).toBe(0);
  });

  it('refuses StartTLS on a connection that already has TLS with operationsError (1)', async () => {
    // -ZZ on an ldaps:// URL sends StartTLS inside the LDAPS session.
    const result = await ldapsearch(['-x', '-ZZ', '-H', `ldaps://127.0.0.1:${server.app.ldapsPort}`, '-b', '', '-s', 'base']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Operations error \(1\)/i);
  });

  it('counts binds by outcome, searches, entries and latency', async () => {
    const before = {
      success: await metric('dmci_ldap_binds_total{outcome="success"}'),
      refused: await metric('dmci_ldap_binds_total{outcome="confidentialityRequired"}'),
      searches: await metric('dmci_ldap_searches_total{result="success"}'),
      entries: await metric('dmci_ldap_entries_returned_total'),
      observed: await metric('dmci_ldap_operation_duration_seconds_count{operation="search"}'),
    };
    expect((await ldapsearch(['-x', '-ZZ', '-H', url, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE, '(|(mail=bob@example.com)(mail=abby@example.com))', 'mail'])).code).toBe(0);
    expect((await ldapsearch(['-x', '-H', url, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE])).code).toBe(13);
    expect(await metric('dmci_ldap_binds_total{outcome="success"}')).toBe(before.success + 1);
    expect(await metric('dmci_ldap_binds_total{outcome="confidentialityRequired"}')).toBe(before.refused + 1);
    expect(await metric('dmci_ldap_searches_total{result="success"}')).toBe(before.searches + 1);
    expect(await metric('dmci_ldap_entries_returned_total')).toBe(before.entries + 2);
    expect(await metric('dmci_ldap_operation_duration_seconds_count{operation="search"}')).toBe(before.observed + 1);
  });
});
