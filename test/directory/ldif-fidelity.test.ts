import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/db/database.ts';
import { exportLdif } from '../../server/directory/import/ldif-export.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { parseLdif } from '../../server/directory/import/ldif-parser.ts';
import { parseAttributeSelection } from '../../server/ldap/ldap-attributes.ts';
import { galEntry } from '../../server/ldap/ldap-entry.ts';
import { filterToSql } from '../../server/ldap/ldap-filter-sql.ts';
import type { FilterNode } from '../../server/ldap/ldap-filter.ts';
import { searchGal } from '../../server/ldap/ldap-search.repository.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';

/**
 * Issue 13: an entry's attributes survive import → LDAP → export unchanged
 * (cn as imported, displayName apart, aliases, multi-valued cn), and string
 * filters follow each attribute's matching rule (RFC 4518), so accented and
 * non-Latin names match as OpenLDAP matches them.
 */
let url: string;
let db: Db;
let domainId: string;
const DOMAIN = 'fid.test';
const BASE = 'ou=gal,dc=fid,dc=test';

// Both forms of names: cn "Given Surname", displayName "Surname, Given"; several cn values; NFD input; other scripts.
const LDIF = `version: 1

dn: mail=lena.fourier@fid.test,${BASE}
objectClass: top
objectClass: person
objectClass: organizationalPerson
objectClass: inetOrgPerson
cn: Lena Fourier
displayName: Fourier, Lena
givenName: Lena
sn: Fourier
mail: lena.fourier@fid.test
otherMailbox: lf@fid.test
otherMailbox: lena@fid.test
title: Analyst
departmentNumber: Research
telephoneNumber: +33 1 23 45 67 89

dn: mail=jose.alvarez@fid.test,${BASE}
objectClass: inetOrgPerson
cn:: Sm9zw6kgw4FsdmFyZXo=
cn: Pepe Alvarez
displayName:: w4FsdmFyZXosIEpvc8Op
givenName:: Sm9zw6k=
sn:: w4FsdmFyZXo=
mail: jose.alvarez@fid.test

dn: mail=vaclav.novak@fid.test,${BASE}
objectClass: inetOrgPerson
cn:: VsOhY2xhdiBOb3bDoWs=
displayName:: Tm92w6FrLCBWw6FjbGF2
givenName:: VsOhY2xhdg==
sn:: Tm92w6Fr
mail: vaclav.novak@fid.test

dn: mail=eleni@fid.test,${BASE}
objectClass: inetOrgPerson
cn:: zpXOu86tzr3OtyDOoM6xz4DOsc60zr/PgM6/z43Ou86/z4U=
sn:: zqDOsc+AzrHOtM6/z4DOv8+NzrvOv8+F
mail: eleni@fid.test

dn: mail=yamada@fid.test,${BASE}
objectClass: inetOrgPerson
cn:: 5bGx55SwIOWkqumDjg==
displayName:: WWFtYWRhIFRhcm8=
sn:: 5bGx55Sw
mail: yamada@fid.test

dn: mail=sales@fid.test,${BASE}
objectClass: groupOfNames
cn: Sales Team
mail: sales@fid.test
member: mail=lena.fourier@fid.test,${BASE}
member: mail=jose.alvarez@fid.test,${BASE}
`;

/** "Václav Novák" with the accents as combining marks (NFD), as some exporters write it. */
const NFD_NAME = 'Václav Novák'.normalize('NFD');

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  domainId = (await sql<{ id: string }>`insert into domains (name) values (${DOMAIN}) returning id`.execute(db)).rows[0]!.id;
  await sql`insert into sync_scopes (id) values (${`gal:${domainId}`}) on conflict do nothing`.execute(db);
  const report = await importDirectory(db, LDIF, { format: 'ldif', publish: () => undefined });
  expect(report).toMatchObject({ created: 6, errors: 0 });
});
afterAll(async () => {
  await db?.destroy();
  await dropTestDatabase(url);
});

async function ldapView(filter: FilterNode = { type: 'present', attribute: 'objectClass' }): Promise<Map<string, Record<string, string[]>>> {
  const rows = await searchGal(db, { domainId, where: filterToSql(filter, { domainId, domain: DOMAIN }), limit: 100, needs: { aliases: true, members: true, photo: false } });
  const selection = parseAttributeSelection(['*']);
  return new Map(
    rows.map((row) => {
      const entry = galEntry(row, DOMAIN, selection, false);
      return [entry.dn, Object.fromEntries(entry.attributes.map((a) => [a.type, a.values.map(String)]))];
    }),
  );
}

const matches = async (filter: FilterNode) => [...(await ldapView(filter)).keys()].map((dn) => dn.split(',')[0]!.slice('mail='.length)).sort();
const eq = (attribute: string, value: string): FilterNode => ({ type: 'equality', attribute, value });
const prefix = (attribute: string, initial: string): FilterNode => ({ type: 'substrings', attribute, initial, any: [] });

/** The string attributes of an LDIF record (base64 decoded), by lower-cased name. */
function ldifAttributes(text: string): Map<string, Map<string, string[]>> {
  const out = new Map<string, Map<string, string[]>>();
  for (const record of parseLdif(text).records) {
    const attributes = new Map<string, string[]>();
    for (const [name, values] of record.attributes) attributes.set(name, values.map((v) => (typeof v === 'string' ? v : v.toString('utf8'))));
    out.set(record.dn.toLowerCase(), attributes);
  }
  return out;
}

describe('attribute fidelity', () => {
  it('serves cn as imported (every value), displayName apart, aliases and members', async () => {
    const view = await ldapView();
    const lena = view.get(`mail=lena.fourier@fid.test,${BASE}`)!;
    expect(lena.cn).toEqual(['Lena Fourier']);
    expect(lena.displayName).toEqual(['Fourier, Lena']);
    expect(lena.otherMailbox).toEqual(['lena@fid.test', 'lf@fid.test']);
    expect(lena.proxyAddresses).toEqual(['SMTP:lena.fourier@fid.test', 'smtp:lena@fid.test', 'smtp:lf@fid.test']);
    expect(lena.departmentNumber).toEqual(['Research']);
    const jose = view.get(`mail=jose.alvarez@fid.test,${BASE}`)!;
    expect(jose.cn).toEqual(['José Álvarez', 'Pepe Alvarez']);
    expect(jose.displayName).toEqual(['Álvarez, José']);
    expect(view.get(`mail=eleni@fid.test,${BASE}`)!.cn).toEqual(['Ελένη Παπαδοπούλου']);
    expect(view.get(`mail=sales@fid.test,${BASE}`)!.member).toHaveLength(2);
  });

  it('exports every imported value unchanged, and a re-import of the export changes nothing', async () => {
    let text = '';
    for await (const chunk of exportLdif(db, [{ id: domainId, name: DOMAIN }])) text += chunk;
    const original = ldifAttributes(LDIF);
    const exported = ldifAttributes(text);
    for (const [dn, attributes] of original) {
      const out = exported.get(dn);
      expect(out, dn).toBeDefined();
      const sorted = (values: string[] | undefined) => [...(values ?? [])].sort();
      for (const name of ['cn', 'givenname', 'sn', 'mail', 'othermailbox', 'title', 'telephonenumber', 'member']) {
        expect(sorted(out!.get(name)), `${dn} ${name}`).toEqual(sorted(attributes.get(name)));
      }
      // dmci always has a display name: without one in the file it is the (first) cn.
      expect(out!.get('displayname'), dn).toEqual(attributes.get('displayname') ?? attributes.get('cn')!.slice(0, 1));
    }
    expect(await importDirectory(db, text, { format: 'ldif', publish: () => undefined })).toMatchObject({ created: 0, updated: 0, deleted: 0, errors: 0 });
  });

  it('keeps a cn that equals the display name following the display name, and a new cn replaces the old ones', async () => {
    const one = `dn: mail=lena.fourier@fid.test,${BASE}\nobjectClass: inetOrgPerson\ncn: Lena Fourier\nsn: Fourier\nmail: lena.fourier@fid.test\n`;
    expect(await importDirectory(db, one, { format: 'ldif', publish: () => undefined })).toMatchObject({ updated: 1, errors: 0 });
    const lena = (await ldapView(eq('mail', 'lena.fourier@fid.test'))).values().next().value!;
    expect(lena.cn).toEqual(['Lena Fourier']);
    expect(lena.displayName).toEqual(['Lena Fourier']);
    // Put the original back for the other tests.
    expect((await importDirectory(db, LDIF, { format: 'ldif', publish: () => undefined })).errors).toBe(0);
  });
});

describe('matching rules (RFC 4518)', () => {
  it('matches cn as imported, not the display name', async () => {
    expect(await matches(eq('cn', 'Lena Fourier'))).toEqual(['lena.fourier@fid.test']);
    expect(await matches(eq('cn', 'Fourier, Lena'))).toEqual([]);
    expect(await matches(eq('displayName', 'fourier, lena'))).toEqual(['lena.fourier@fid.test']);
    expect(await matches(prefix('cn', 'Jo'))).toEqual(['jose.alvarez@fid.test']);
    expect(await matches(eq('cn', 'pepe alvarez'))).toEqual(['jose.alvarez@fid.test']);
  });

  it('prepares both sides: case folding, NFKC, insignificant spaces, in every script', async () => {
    expect(await matches(prefix('cn', 'Vác'))).toEqual(['vaclav.novak@fid.test']);
    expect(await matches(prefix('cn', 'VÁC'))).toEqual(['vaclav.novak@fid.test']);
    // Decomposed input is the same string after NFKC.
    expect(await matches(eq('cn', NFD_NAME))).toEqual(['vaclav.novak@fid.test']);
    // Diacritics are significant in caseIgnoreMatch (as in slapd): "vac" is not "Vác".
    expect(await matches(prefix('cn', 'vac'))).toEqual([]);
    expect(await matches(eq('cn', '  lena   FOURIER '))).toEqual(['lena.fourier@fid.test']);
    expect(await matches({ type: 'substrings', attribute: 'cn', any: ['a f'], final: 'ier' })).toEqual(['lena.fourier@fid.test']);
    // Word boundaries hold: "a  f" is not inside "Lena Fourier" as "na F" is.
    expect(await matches({ type: 'substrings', attribute: 'cn', initial: 'lena', any: [], final: 'na fourier' })).toEqual([]);
    expect(await matches(eq('cn', 'ΕΛΈΝΗ ΠΑΠΑΔΟΠΟΎΛΟΥ'))).toEqual(['eleni@fid.test']);
    expect(await matches(prefix('sn', 'παπαδ'))).toEqual(['eleni@fid.test']);
    expect(await matches(prefix('cn', '山田'))).toEqual(['yamada@fid.test']);
    // Full-width letters are their ASCII selves after NFKC.
    expect(await matches(eq('givenName', 'ＬＥＮＡ'))).toEqual(['lena.fourier@fid.test']);
    expect(await matches(eq('telephoneNumber', '+33-1-2345-6789'))).toEqual(['lena.fourier@fid.test']);
  });

  it('is Undefined for assertions that cannot be prepared and for ordering without an ordering rule', async () => {
    // A private-use character is prohibited (RFC 4518 §2.4): Undefined, and so is its negation.
    expect(await matches(eq('cn', 'Lena\uE000'))).toEqual([]);
    expect(await matches({ type: 'not', child: eq('cn', 'Lena\uE000') })).toEqual([]);
    // IA5 attributes take ASCII assertions only.
    expect(await matches(eq('mail', 'lena.fourier@fíd.test'))).toEqual([]);
    expect(await matches({ type: 'lte', attribute: 'sn', value: 'Z' })).toEqual([]);
    expect(await matches({ type: 'not', child: { type: 'gte', attribute: 'cn', value: 'A' } })).toEqual([]);
  });

  it('approximate match finds names spelled the way they sound, in any word order', async () => {
    expect(await matches({ type: 'approx', attribute: 'cn', value: 'Lina Furier' })).toEqual(['lena.fourier@fid.test']);
    expect(await matches({ type: 'approx', attribute: 'cn', value: 'fourier' })).toEqual(['lena.fourier@fid.test']);
    expect(await matches({ type: 'approx', attribute: 'sn', value: 'Alvares' })).toEqual(['jose.alvarez@fid.test']);
    expect(await matches({ type: 'approx', attribute: 'cn', value: 'Novak Vaclav' })).toEqual(['vaclav.novak@fid.test']);
    expect(await matches({ type: 'approx', attribute: 'cn', value: 'Lena Smith' })).toEqual([]);
    // Approx on a phone number is equality (telephoneNumber has no approximate rule).
    expect(await matches({ type: 'approx', attribute: 'telephoneNumber', value: '+33123456789' })).toEqual(['lena.fourier@fid.test']);
  });
});
