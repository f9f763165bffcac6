import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasLdapsearch, hasOpenssl, ldapsearch, MISSING_LDAPSEARCH, type LdapsearchResult } from '../helpers/ldap.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, OTHER_BASE, PASSWORD, PHOTO, startGalServer, VISIBLE_IN_EXAMPLE } from './gal-fixture.ts';

/**
 * The LDAP door driven by OpenLDAP's ldapsearch, the reference client (and
 * what admins use). CI installs it (.ci/run); elsewhere these tests say how.
 */
if (!hasLdapsearch) console.warn(MISSING_LDAPSEARCH);

const MAX_SIZE = 20;

describe.skipIf(!hasLdapsearch)('ldapsearch', () => {
  let server: TestServer;
  let certDir: string | undefined;
  let url: string;

  beforeAll(async () => {
    const env: Record<string, string> = { DMCI_LDAP_MAX_SIZE: String(MAX_SIZE), DMCI_SCREEN_FAILURES: '6' };
    if (hasOpenssl) {
      certDir = mkdtempSync(join(tmpdir(), 'dmci-ldaps-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem')], { stdio: 'ignore' });
      Object.assign(env, { DMCI_TLS_CERT: join(certDir, 'cert.pem'), DMCI_TLS_KEY: join(certDir, 'key.pem') });
    } else {
      console.warn('openssl not found: the LDAPS test is skipped (Debian/Ubuntu: apt-get install openssl)');
    }
    server = await startGalServer(env);
    url = `ldap://127.0.0.1:${server.app.ldapPort}`;
  });
  afterAll(async () => {
    await server?.stop();
    if (certDir) rmSync(certDir, { recursive: true, force: true });
  });

  /** ldapsearch bound as alice (or someone else), with the result comments kept so the result code is visible. */
  const search = (args: string[], login = 'alice@example.com', password = PASSWORD): Promise<LdapsearchResult> =>
    ldapsearch(['-x', '-LLL', '-o', 'ldif-wrap=no', '-H', url, '-D', login, '-w', password, ...args]);
  const mails = (result: LdapsearchResult) => result.entries.flatMap((e) => e.attrs.mail ?? []).sort();

  describe('binds', () => {
    it('binds with an entry DN and with a bare address', async () => {
      expect((await search(['-b', BASE, '-s', 'base', '1.1'], `mail=alice@example.com,${BASE}`)).code).toBe(0);
      expect((await search(['-b', BASE, '-s', 'base', '1.1'], 'alice@example.com')).code).toBe(0);
    });

    it('refuses a wrong password and a disabled account with 49', async () => {
      const wrong = await search(['-b', BASE], 'alice@example.com', 'nope');
      expect(wrong.code).toBe(49);
      expect(wrong.stderr).toMatch(/Invalid credentials \(49\)/);
      expect((await search(['-b', BASE], 'carol@example.com')).code).toBe(49);
    });

    it('accepts anonymous binds but refuses their GAL searches with 50', async () => {
      const anonymous = await ldapsearch(['-x', '-H', url, '-b', BASE]);
      expect(anonymous.code).toBe(50);
      expect(anonymous.stderr + anonymous.stdout).toMatch(/anonymous access to the GAL is disabled/);
    });
  });

  describe('searches', () => {
    it('answers each scope', async () => {
      const base = await search(['-b', BASE, '-s', 'base', '(objectClass=*)', '1.1']);
      expect(base.entries.map((e) => e.dn)).toEqual([BASE]);
      const one = await search(['-b', BASE, '-s', 'one', '-E', 'pr=100/noprompt', '(objectClass=*)', '1.1']);
      expect(one.entries).toHaveLength(VISIBLE_IN_EXAMPLE);
      const sub = await search(['-b', BASE, '-s', 'sub', '-E', 'pr=100/noprompt', '(objectClass=*)', '1.1']);
      expect(sub.entries).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
    });

    it("answers Outlook's ambiguous-name search with a size limit of 50", async () => {
      const result = await search(['-b', BASE, '-z', '50', '(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))', 'cn', 'mail', 'sn', 'givenName']);
      expect(result.code).toBe(0);
      expect(mails(result)).toEqual(['abby@example.com', 'abe.zed@example.com']);
    });

    it('evaluates every filter type', async () => {
      const expectMails = async (filter: string, expected: string[]) => expect(mails(await search(['-b', BASE, filter, 'mail'])), filter).toEqual(expected);
      await expectMails('(mail=Bob@Example.com)', ['bob@example.com']);
      await expectMails('(cn=Ab*)', ['abby@example.com', 'abe.zed@example.com']);
      await expectMails('(cn=*bott)', ['abby@example.com']);
      await expectMails('(cn=*b*tt*)', ['abby@example.com']);
      // No ordering rule for sn: Undefined, as slapd answers it.
      await expectMails('(&(sn>=Y)(sn<=Zz))', []);
      await expectMails('(&(objectClass=person)(jpegPhoto=*))', ['bob@example.com']);
      await expectMails('(givenName~=ab)', ['abby@example.com', 'abe.zed@example.com']);
      await expectMails('(&(givenName=A*)(|(sn=Zed)(sn=Abbott))(!(sn=Abbott)))', ['abe.zed@example.com']);
      // A test of a missing attribute is FALSE (as slapd answers): Abe and Alice have no department, Abby is in Sales.
      await expectMails('(&(givenName=A*)(!(department=Sales)))', ['abe.zed@example.com', 'alice@example.com']);
      await expectMails('(title=Zed \\28the \\2areal\\2a one\\29 \\5co/)', ['abe.zed@example.com']);
      await expectMails('(objectClass=groupOfNames)', ['eng@example.com']);
      await expectMails('(&(objectClass=dmciResource)(roomCapacity>=10))', ['atlas@example.com']);
      await expectMails('(otherMailbox=bobby@example.com)', ['bob@example.com']);
      await expectMails('(unknownAttribute=1)', []);
    });

    it('returns requested attributes only, and photos as binary', async () => {
      const result = await search(['-b', `mail=bob@example.com,${BASE}`, '-s', 'base', '(objectClass=*)', 'CN', 'jpegPhoto', 'manager']);
      expect(Object.keys(result.entries[0]!.attrs).sort()).toEqual(['cn', 'jpegPhoto', 'manager']);
      expect(result.entries[0]!.attrs.jpegPhoto).toEqual([`base64:${PHOTO.toString('base64')}`]);
      expect(result.entries[0]!.attrs.manager).toEqual([`mail=alice@example.com,${BASE}`]);
      const none = await search(['-b', `mail=bob@example.com,${BASE}`, '-s', 'base', '(objectClass=*)', '1.1']);
      expect(none.entries[0]!.attrs).toEqual({});
    });

    it('never shows hidden, deleted or disabled entries, nor another domain', async () => {
      const all = await search(['-b', BASE, '-E', 'pr=50/noprompt', '(objectClass=*)', 'mail', 'member', 'otherMailbox']);
      for (const hidden of ['harry@', 'hh@', 'dora@', 'carol@', 'other.test']) expect(all.stdout).not.toContain(hidden);
      const other = await search(['-b', OTHER_BASE, '(objectClass=*)']);
      expect(other.code).toBe(32);
    });
  });

  describe('paging and limits', () => {
    it('pages with -E pr=10/noprompt through more entries than the size cap', async () => {
      const result = await search(['-b', BASE, '-E', 'pr=10/noprompt', '(objectClass=*)', 'mail']);
      expect(result.code).toBe(0);
      expect(result.entries).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
      expect(new Set(result.entries.map((e) => e.dn)).size).toBe(VISIBLE_IN_EXAMPLE + 1);
    });

    it(`caps an unpaged search at DMCI_LDAP_MAX_SIZE (${MAX_SIZE}) with sizeLimitExceeded (4)`, async () => {
      const result = await search(['-b', BASE, '(objectClass=*)', '1.1']);
      expect(result.code).toBe(4);
      expect(result.stderr + result.stdout).toMatch(/Size limit exceeded/i);
      expect(result.entries).toHaveLength(MAX_SIZE);
    });

    it('honours -z with sizeLimitExceeded (4) and the entries up to the limit', async () => {
      const result = await search(['-b', BASE, '-z', '5', '(sn=Filler)', 'mail']);
      expect(result.code).toBe(4);
      expect(result.entries).toHaveLength(5);
    });
  });

  describe('root DSE and subschema', () => {
    it('serves the root DSE', async () => {
      const result = await search(['-b', '', '-s', 'base', '(objectClass=*)', '+']);
      expect(result.code).toBe(0);
      expect(result.entries[0]!.attrs).toMatchObject({
        namingContexts: [BASE],
        supportedLDAPVersion: ['3'],
        supportedControl: ['1.2.840.113556.1.4.319'],
        subschemaSubentry: ['cn=Subschema'],
        vendorName: ['dmci'],
      });
    });

    it('serves cn=Subschema', async () => {
      const result = await search(['-b', 'cn=Subschema', '-s', 'base', '(objectClass=subschema)', 'objectClasses', 'attributeTypes']);
      expect(result.entries[0]!.attrs.objectClasses!.join('\n')).toMatch(/NAME 'inetOrgPerson'/);
      expect(result.entries[0]!.attrs.attributeTypes!.join('\n')).toMatch(/NAME \( 'mail' /);
    });
  });

  describe('bad input', () => {
    it('reports a filter nested too deep with 11 and a clear message', async () => {
      const filter = `${'(!'.repeat(20)}(cn=x)${')'.repeat(20)}`;
      const result = await search(['-b', BASE, filter]);
      expect(result.code).toBe(11);
      expect(result.stderr + result.stdout).toMatch(/nests 21 levels deep; the limit is 16/);
    });

    it('reports unknown base DNs with 32 and the matched DN', async () => {
      const result = await search(['-b', `mail=nobody@example.com,${BASE}`, '-s', 'base']);
      expect(result.code).toBe(32);
      expect(result.stderr + result.stdout).toContain(`Matched DN: ${BASE}`);
    });

    it('leaves bad filter syntax to the client, and the server keeps answering', async () => {
      const bad = await search(['-b', BASE, '(cn=a']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toMatch(/[Bb]ad search filter/);
      expect(mails(await search(['-b', BASE, '(mail=bob@example.com)', 'mail']))).toEqual(['bob@example.com']);
    });
  });

  it.skipIf(!hasOpenssl)('speaks LDAPS with the configured certificate', async () => {
    expect(server.app.ldapsPort).toBeDefined();
    const result = await ldapsearch(['-x', '-LLL', '-H', `ldaps://127.0.0.1:${server.app.ldapsPort}`, '-D', 'alice@example.com', '-w', PASSWORD, '-b', BASE, '(mail=bob@example.com)', 'mail']);
    expect(result.code).toBe(0);
    expect(mails(result)).toEqual(['bob@example.com']);
  });

  it('blocks an address after repeated failed binds, right password or not (DMCI_SCREEN_FAILURES=6 here)', async () => {
    for (let k = 0; k < 6; k++) await search(['-b', BASE, '-s', 'base'], 'alice@example.com', `wrong-${k}`);
    const blocked = await search(['-b', BASE, '-s', 'base', '1.1']);
    expect(blocked.code).not.toBe(0);
  });
});
