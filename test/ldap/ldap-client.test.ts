import { connect as netConnect } from 'node:net';
import ldap from 'ldapjs';
import { systemActor } from '../../server/accounts/actor.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapTestClient, pagedControl, rawExchange, type ClientSearchResult } from '../helpers/ldap.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, FILLERS, OTHER_BASE, PASSWORD, PHOTO, startGalServer, VISIBLE_IN_EXAMPLE } from './gal-fixture.ts';

/** The LDAP door driven by a client library (ldapjs's client), as an application would. */
let server: TestServer;
let url: string;
const clients: LdapTestClient[] = [];

beforeAll(async () => {
  server = await startGalServer();
  url = `ldap://127.0.0.1:${server.app.ldapPort}`;
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => {})));
  await server?.stop();
});

function client(): LdapTestClient {
  const c = new LdapTestClient(url);
  clients.push(c);
  return c;
}

async function boundAs(login = 'alice@example.com'): Promise<LdapTestClient> {
  const c = client();
  expect((await c.bind(login, PASSWORD)).code).toBe(0);
  return c;
}

const dns = (result: ClientSearchResult) => result.entries.map((e) => e.dn).sort();
const mails = (result: ClientSearchResult) => result.entries.flatMap((e) => e.attrs.mail ?? []).sort();

describe('bind', () => {
  it('accepts an entry DN, a bare address and uid=<address>', async () => {
    expect((await client().bind(`mail=alice@example.com,${BASE}`, PASSWORD)).code).toBe(0);
    expect((await client().bind('alice@example.com', PASSWORD)).code).toBe(0);
    expect((await client().bind('uid=Alice@Example.com', PASSWORD)).code).toBe(0);
  });

  it('refuses a wrong password, an unknown login and a DN in the wrong domain with invalidCredentials (49)', async () => {
    expect((await client().bind('alice@example.com', 'wrong')).code).toBe(49);
    expect((await client().bind('nobody@example.com', PASSWORD)).code).toBe(49);
    expect((await client().bind(`mail=alice@example.com,${OTHER_BASE}`, PASSWORD)).code).toBe(49);
  });

  it('refuses a disabled account with invalidCredentials (49)', async () => {
    const result = await client().bind('carol@example.com', PASSWORD);
    expect(result.code).toBe(49);
  });

  it('accepts an anonymous bind (which may read the root DSE only) and refuses an unauthenticated one with unwillingToPerform (53)', async () => {
    const anonymous = client();
    expect((await anonymous.bind('', '')).code).toBe(0);
    expect((await anonymous.search(BASE, { filter: '(objectClass=*)' })).code).toBe(50);
    expect((await client().bind('alice@example.com', '')).code).toBe(53);
  });

  it('refuses searches of the GAL before a bind with insufficientAccessRights (50)', async () => {
    const result = await client().search(BASE, { filter: '(objectClass=*)' });
    expect(result.code).toBe(50);
    expect(result.entries).toEqual([]);
  });

  it('a failed bind drops an earlier successful one', async () => {
    const c = await boundAs();
    expect((await c.bind('alice@example.com', 'wrong')).code).toBe(49);
    expect((await c.search(BASE, { filter: '(mail=bob@example.com)' })).code).toBe(50);
  });
});

describe('scopes and base DNs', () => {
  it('base scope on the GAL base returns the ou entry only', async () => {
    const result = await (await boundAs()).search(BASE, { scope: 'base', filter: '(objectClass=*)' });
    expect(result.code).toBe(0);
    expect(dns(result)).toEqual([BASE]);
    expect(result.entries[0]!.attrs.objectClass).toContain('organizationalUnit');
  });

  it('one level returns every visible entry and not the base; sub adds the base', async () => {
    const c = await boundAs();
    const paging = [pagedControl(100)];
    const one = await c.search(BASE, { scope: 'one', filter: '(objectClass=*)', attributes: ['1.1'] }, paging);
    expect(one.code).toBe(0);
    expect(one.entries).toHaveLength(VISIBLE_IN_EXAMPLE);
    expect(dns(one)).not.toContain(BASE);
    const sub = await c.search(BASE, { scope: 'sub', filter: '(objectClass=*)', attributes: ['1.1'] }, paging);
    expect(sub.entries).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
    expect(dns(sub)).toContain(BASE);
  });

  it('base scope on an entry DN returns that entry; one level under it nothing', async () => {
    const c = await boundAs();
    const base = await c.search(`mail=bob@example.com,${BASE}`, { scope: 'base', filter: '(objectClass=*)' });
    expect(dns(base)).toEqual([`mail=bob@example.com,${BASE}`]);
    const one = await c.search(`mail=bob@example.com,${BASE}`, { scope: 'one', filter: '(objectClass=*)' });
    expect(one.code).toBe(0);
    expect(one.entries).toEqual([]);
  });

  it('an entry without an address is named by its id', async () => {
    const c = await boundAs();
    const result = await c.search(BASE, { filter: '(cn=Nemo*)', attributes: ['cn', 'uid'] });
    expect(result.entries).toHaveLength(1);
    const uid = result.entries[0]!.attrs.uid![0]!;
    expect(result.entries[0]!.dn).toBe(`uid=${uid},${BASE}`);
    const again = await c.search(`uid=${uid},${BASE}`, { scope: 'base' });
    expect(again.entries[0]!.attrs.cn).toEqual(['Nemo NoMail']);
  });

  it('unknown DNs answer noSuchObject (32) with the matched DN', async () => {
    const c = await boundAs();
    const missing = await c.search(`mail=nobody@example.com,${BASE}`, { scope: 'base' });
    expect(missing.code).toBe(32);
    const outside = await c.search('ou=people,dc=example,dc=com', { scope: 'sub' });
    expect(outside.code).toBe(32);
    const below = await c.search(`cn=x,mail=bob@example.com,${BASE}`, { scope: 'base' });
    expect(below.code).toBe(32);
  });

  it("another domain's GAL does not exist for a user, but does for a global admin", async () => {
    const alice = await boundAs();
    expect((await alice.search(OTHER_BASE, { filter: '(objectClass=*)' })).code).toBe(32);
    const root = await boundAs('root@ops.test');
    const result = await root.search(OTHER_BASE, { filter: '(cn=O*)', attributes: ['mail'] });
    expect(mails(result)).toEqual(['olga@other.test', 'otto@other.test']);
  });
});

describe('visibility', () => {
  it('hidden, deleted and disabled entries never appear, not even as group members or managers', async () => {
    const c = await boundAs();
    const all = await c.search(BASE, { filter: '(objectClass=*)', attributes: ['mail', 'member', 'manager'] }, [pagedControl(100)]);
    const everything = JSON.stringify(all.entries);
    for (const hidden of ['harry@example.com', 'hh@example.com', 'dora@example.com', 'carol@example.com']) expect(everything).not.toContain(hidden);
    const direct = await c.search(`mail=harry@example.com,${BASE}`, { scope: 'base' });
    expect(direct.code).toBe(32);
    const byAlias = await c.search(BASE, { filter: '(otherMailbox=hh@example.com)' });
    expect(byAlias.entries).toEqual([]);
    const abby = await c.search(BASE, { filter: '(mail=abby@example.com)', attributes: ['manager'] });
    expect(abby.entries[0]!.attrs.manager).toBeUndefined();
  });
});

describe('attributes', () => {
  it('maps a person to inetOrgPerson', async () => {
    const c = await boundAs();
    const result = await c.search(`mail=bob@example.com,${BASE}`, { scope: 'base' });
    const attrs = result.entries[0]!.attrs;
    expect(attrs.objectClass).toEqual(expect.arrayContaining(['top', 'person', 'organizationalPerson', 'inetOrgPerson']));
    expect(attrs).toMatchObject({
      cn: ['Bob Brown'],
      displayName: ['Bob Brown'],
      sn: ['Brown'],
      givenName: ['Bob'],
      mail: ['bob@example.com'],
      title: ['Engineer'],
      departmentNumber: ['R&D'],
      ou: ['R&D'],
      o: ['Example Inc'],
      company: ['Example Inc'],
      physicalDeliveryOfficeName: ['HQ 3.14'],
      telephoneNumber: ['+1 555 0100'],
      mobile: ['+1 555 0199'],
      manager: [`mail=alice@example.com,${BASE}`],
      jpegPhoto: [`base64:${PHOTO.toString('base64')}`],
      thumbnailPhoto: [`base64:${PHOTO.toString('base64')}`],
    });
    expect(attrs.otherMailbox!.sort()).toEqual(['b.brown@example.com', 'bobby@example.com']);
    expect(attrs.proxyAddresses!.sort()).toEqual(['SMTP:bob@example.com', 'smtp:b.brown@example.com', 'smtp:bobby@example.com']);
    expect(attrs.entryUUID).toBeUndefined();
  });

  it('maps a group to groupOfNames with member DNs, and a room to dmciResource', async () => {
    const c = await boundAs();
    const group = await c.search(`mail=eng@example.com,${BASE}`, { scope: 'base' });
    expect(group.entries[0]!.attrs.objectClass).toContain('groupOfNames');
    expect(group.entries[0]!.attrs.member!.sort()).toEqual([`mail=abby@example.com,${BASE}`, `mail=bob@example.com,${BASE}`]);
    const room = await c.search(`mail=atlas@example.com,${BASE}`, { scope: 'base' });
    expect(room.entries[0]!.attrs).toMatchObject({ objectClass: expect.arrayContaining(['dmciResource']), roomCapacity: ['12'], location: ['Floor 2'], dmciResourceType: ['room'] });
  });

  it('honours requested attributes case-insensitively, with *, + and 1.1; unknown names are skipped', async () => {
    const c = await boundAs();
    const base = `mail=bob@example.com,${BASE}`;
    const named = await c.search(base, { scope: 'base', attributes: ['GIVENNAME', 'Mail', 'noSuchAttribute'] });
    expect(Object.keys(named.entries[0]!.attrs).sort()).toEqual(['givenName', 'mail']);
    const none = await c.search(base, { scope: 'base', attributes: ['1.1'] });
    expect(none.entries[0]!.attrs).toEqual({});
    const operational = await c.search(base, { scope: 'base', attributes: ['+'] });
    expect(Object.keys(operational.entries[0]!.attrs).sort()).toEqual(['createTimestamp', 'entryDN', 'entryUUID', 'hasSubordinates', 'modifyTimestamp', 'subschemaSubentry']);
    const both = await c.search(base, { scope: 'base', attributes: ['*', '+'] });
    expect(both.entries[0]!.attrs).toHaveProperty('entryUUID');
    expect(both.entries[0]!.attrs).toHaveProperty('sn');
    const typesOnly = await c.search(base, { scope: 'base', attributes: ['cn', 'sn'], typesOnly: true });
    expect(Object.keys(typesOnly.entries[0]!.attrs).sort()).toEqual(['cn', 'sn']);
  });
});

describe('filters', () => {
  const search = async (filter: string) => {
    const result = await (await boundAs()).search(BASE, { filter, attributes: ['mail', 'cn'] }, [pagedControl(100)]);
    expect(result.code).toBe(0);
    return result;
  };

  it('equality, case-insensitively', async () => {
    expect(mails(await search('(mail=BOB@example.com)'))).toEqual(['bob@example.com']);
    expect(mails(await search('(sn=brown)'))).toEqual(['bob@example.com']);
  });

  it('substrings: initial, any, final', async () => {
    expect(mails(await search('(cn=ab*)'))).toEqual(['abby@example.com', 'abe.zed@example.com']);
    expect(mails(await search('(cn=*own)'))).toEqual(['bob@example.com']);
    expect(mails(await search('(cn=*b*tt*)'))).toEqual(['abby@example.com']);
    expect(mails(await search('(cn=A*b*t)'))).toEqual(['abby@example.com']);
  });

  it('treats LIKE wildcards and escaped filter characters in values literally', async () => {
    // Filter objects: ldapjs's client keeps RFC 4515 escapes in string filters (ldapsearch.test.ts covers the string form).
    const c = await boundAs();
    const exact = new ldap.EqualityFilter({ attribute: 'title', value: 'Zed (the *real* one) \\o/' });
    expect(mails(await c.search(BASE, { filter: exact, attributes: ['mail'] }))).toEqual(['abe.zed@example.com']);
    const inner = new ldap.SubstringFilter({ attribute: 'title', initial: '', any: ['*real*'] });
    expect(mails(await c.search(BASE, { filter: inner, attributes: ['mail'] }))).toEqual(['abe.zed@example.com']);
    expect((await search('(cn=%)')).entries).toEqual([]);
    expect((await search('(cn=_ob*)')).entries).toEqual([]);
  });

  it('>= and <= where the schema has an ordering rule; Undefined where it has none', async () => {
    // sn has no ORDERING rule in cn=Subschema: the item is Undefined, and so is its negation.
    expect((await search('(&(sn>=Y)(sn<=Zz))')).entries).toEqual([]);
    expect((await search('(!(sn>=Y))')).entries).toEqual([]);
    expect(mails(await search('(&(mail=atlas@example.com)(createTimestamp>=20000101000000Z))'))).toEqual(['atlas@example.com']);
    expect((await search('(createTimestamp<=20000101000000Z)')).entries).toEqual([]);
    expect(mails(await search('(roomCapacity>=10)'))).toEqual(['atlas@example.com']);
    expect((await search('(roomCapacity>=13)')).entries).toEqual([]);
    expect((await search('(roomCapacity<=abc)')).entries).toEqual([]);
  });

  it('presence and approx (names that sound alike)', async () => {
    expect(mails(await search('(jpegPhoto=*)'))).toEqual(['bob@example.com']);
    expect(mails(await search('(givenName~=ab)'))).toEqual(['abby@example.com', 'abe.zed@example.com']);
  });

  it('and, or, not with RFC 4511 three-valued logic', async () => {
    expect(mails(await search('(&(givenName=Ab*)(sn=Zed))'))).toEqual(['abe.zed@example.com']);
    expect(mails(await search('(|(mail=bob@example.com)(sn=Zed))'))).toEqual(['abe.zed@example.com', 'bob@example.com']);
    // A test of an attribute the entry lacks is FALSE (as slapd answers), so NOT returns the entries without a title too
    // (and the ou=gal base entry of the subtree search).
    const notEngineer = await search('(!(title=Engineer))');
    expect(notEngineer.entries).toHaveLength(VISIBLE_IN_EXAMPLE - 1 + 1);
    expect(mails(notEngineer)).not.toContain('bob@example.com');
    expect(mails(notEngineer)).toContain('abby@example.com');
    expect(notEngineer.entries.find((e) => e.attrs.cn?.[0] === 'Nemo NoMail')).toBeDefined();
    // An unknown attribute is Undefined, and so is its negation.
    expect((await search('(!(noSuchAttribute=x))')).entries).toEqual([]);
    expect(mails(await search('(&(sn=*)(!(sn=Filler))(!(sn=Nomail)))'))).toEqual(['abby@example.com', 'abe.zed@example.com', 'alice@example.com', 'bob@example.com']);
    // The subtree search includes the ou=gal base entry, which has no title either.
    expect((await search('(!(title=*))')).entries).toHaveLength(VISIBLE_IN_EXAMPLE - 4 + 1);
  });

  it('objectClass filters', async () => {
    expect((await search('(objectClass=inetOrgPerson)')).entries).toHaveLength(VISIBLE_IN_EXAMPLE - 2);
    expect((await search('(objectClass=PERSON)')).entries).toHaveLength(VISIBLE_IN_EXAMPLE - 2);
    expect(mails(await search('(objectClass=groupOfNames)'))).toEqual(['eng@example.com']);
    expect(mails(await search('(objectClass=dmciResource)'))).toEqual(['atlas@example.com']);
    // ... and the base entry (an organizationalUnit) is a top too.
    expect((await search('(objectClass=top)')).entries).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
    expect((await search('(objectClass=*)')).entries).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
    expect(dns(await search('(objectClass=organizationalUnit)'))).toEqual([BASE]);
    expect((await search('(objectClass=posixAccount)')).entries).toEqual([]);
    expect(mails(await search('(&(objectClass=person)(!(objectClass=inetOrgPerson)))'))).toEqual([]);
  });

  it('aliases, proxyAddresses, member and manager', async () => {
    expect(mails(await search('(otherMailbox=bobby@example.com)'))).toEqual(['bob@example.com']);
    expect(mails(await search('(otherMailbox=b.b*)'))).toEqual(['bob@example.com']);
    expect(mails(await search('(proxyAddresses=smtp:bobby@example.com)'))).toEqual(['bob@example.com']);
    expect(mails(await search(`(member=mail=bob@example.com,${BASE})`))).toEqual(['eng@example.com']);
    expect((await search(`(member=mail=harry@example.com,${BASE})`)).entries).toEqual([]);
    expect(mails(await search(`(manager=mail=alice@example.com,${BASE})`))).toEqual(['bob@example.com']);
  });

  it('unknown attributes evaluate to Undefined: no match, no error, also under NOT', async () => {
    expect((await search('(noSuchAttribute=x)')).entries).toEqual([]);
    expect((await search('(!(noSuchAttribute=x))')).entries).toEqual([]);
    expect(mails(await search('(|(noSuchAttribute=x)(mail=bob@example.com))'))).toEqual(['bob@example.com']);
  });

  it('extensible match: plain equality works, other rules are Undefined', async () => {
    expect(mails(await search('(sn:=Brown)'))).toEqual(['bob@example.com']);
    expect((await search('(sn:1.2.3.4:=Brown)')).entries).toEqual([]);
  });

  it("Outlook's ambiguous-name filter with a size limit of 50", async () => {
    const result = await (await boundAs()).search(BASE, { filter: '(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))', sizeLimit: 50, attributes: ['cn', 'mail'] });
    expect(result.code).toBe(0);
    expect(mails(result)).toEqual(['abby@example.com', 'abe.zed@example.com']);
  });

  it('values with characters ldapjs mangles arrive intact (backslash, astral plane)', async () => {
    // A GAL write through the directory service (acknowledged once every node's LDAP door will see it): the door's index follows the change log.
    const dave = await server.app.db.selectFrom('directory_entries').select(['id']).where('email', '=', 'dave@example.com').executeTakeFirstOrThrow();
    await server.app.services.directory.adminUpdate(systemActor, dave.id, { office: 'Desk \\ 🦄' });
    // Filter objects, not strings: ldapjs's client-side string parser has the same escaping bugs.
    const c = await boundAs();
    const equality = new ldap.EqualityFilter({ attribute: 'physicalDeliveryOfficeName', value: 'desk \\ 🦄' });
    expect(mails(await c.search(BASE, { filter: equality, attributes: ['mail'] }))).toEqual(['dave@example.com']);
    const final = new ldap.SubstringFilter({ attribute: 'physicalDeliveryOfficeName', initial: '', final: '\\ 🦄' });
    expect(mails(await c.search(BASE, { filter: final, attributes: ['mail'] }))).toEqual(['dave@example.com']);
  });
});

describe('limits and paging', () => {
  it("honours the client's size limit with sizeLimitExceeded (4) and the entries up to it", async () => {
    const result = await (await boundAs()).search(BASE, { filter: '(sn=Filler)', sizeLimit: 5, attributes: ['mail'] });
    expect(result.code).toBe(4);
    expect(result.entries).toHaveLength(5);
  });

  it('pages with a stable cursor until the cookie is empty, seeing every entry exactly once', async () => {
    const c = await boundAs();
    const seen: string[] = [];
    let cookie: Buffer = Buffer.alloc(0);
    let pages = 0;
    do {
      const page = await c.search(BASE, { filter: '(objectClass=*)', attributes: ['1.1'] }, [pagedControl(7, cookie)]);
      expect(page.code).toBe(0);
      expect(page.entries.length).toBeLessThanOrEqual(7);
      seen.push(...dns(page));
      cookie = page.cookie ?? Buffer.alloc(0);
      pages++;
      // An entry changed between pages is neither skipped nor repeated.
      if (pages === 2) await server.app.db.updateTable('directory_entries').set({ title: 'Paged' }).where('email', '=', 'filler00@example.com').execute();
    } while (cookie.length > 0 && pages < 20);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(VISIBLE_IN_EXAMPLE + 1);
    expect(pages).toBe(Math.ceil((VISIBLE_IN_EXAMPLE + 1) / 7));
  });

  it('answers timeLimitExceeded (3) when the database cannot finish within the time limit', async () => {
    // Another transaction holds the table, so the search waits until its statement_timeout (the client's 1 s) fires.
    const { sql } = await import('kysely');
    const c = await boundAs();
    let held!: () => void;
    let release!: () => void;
    const isHeld = new Promise<void>((resolve) => (held = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const locker = server.app.db.transaction().execute(async (trx) => {
      await sql`lock table directory_entries in access exclusive mode`.execute(trx);
      held();
      await released;
    });
    await isHeld;
    const result = await c.search(BASE, { filter: '(cn=ab*)', timeLimit: 1 });
    release();
    await locker;
    expect(result.code).toBe(3);
  });

  it('refuses a cookie from another search', async () => {
    const c = await boundAs();
    const first = await c.search(BASE, { filter: '(sn=Filler)', attributes: ['1.1'] }, [pagedControl(5)]);
    expect(first.cookie!.length).toBeGreaterThan(0);
    const other = await c.search(BASE, { filter: '(sn=Brown)' }, [pagedControl(5, first.cookie)]);
    expect(other.code).toBe(53);
    const garbage = await c.search(BASE, { filter: '(sn=Filler)', attributes: ['1.1'] }, [pagedControl(5, Buffer.from('garbage'))]);
    expect(garbage.code).toBe(53);
  });

  it('a paged search with a client size limit stops there with sizeLimitExceeded', async () => {
    const c = await boundAs();
    const first = await c.search(BASE, { filter: '(sn=Filler)', sizeLimit: 8, attributes: ['1.1'] }, [pagedControl(5)]);
    expect(first.entries).toHaveLength(5);
    const second = await c.search(BASE, { filter: '(sn=Filler)', sizeLimit: 8, attributes: ['1.1'] }, [pagedControl(5, first.cookie)]);
    expect(second.entries).toHaveLength(3);
    expect(second.code).toBe(4);
  });

  it(`walks all ${FILLERS} fillers with page size 1`, async () => {
    const c = await boundAs();
    let cookie: Buffer = Buffer.alloc(0);
    let count = 0;
    do {
      const page = await c.search(BASE, { filter: '(sn=Filler)', attributes: ['1.1'] }, [pagedControl(1, cookie)]);
      count += page.entries.length;
      cookie = page.cookie ?? Buffer.alloc(0);
    } while (cookie.length > 0 && count < 100);
    expect(count).toBe(FILLERS);
  });
});

describe('root DSE and subschema', () => {
  it('answers the root DSE before a bind, without advertising domains', async () => {
    const result = await client().search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['+'] });
    expect(result.code).toBe(0);
    const attrs = result.entries[0]!.attrs;
    expect(attrs.supportedLDAPVersion).toEqual(['3']);
    expect(attrs.supportedControl).toContain('1.2.840.113556.1.4.319');
    expect(attrs.vendorName).toEqual(['dmci']);
    expect(attrs.subschemaSubentry).toEqual(['cn=Subschema']);
    expect(attrs.namingContexts).toBeUndefined();
  });

  it("lists the user's own base, and a global admin's every base, in namingContexts", async () => {
    const mine = await (await boundAs()).search('', { scope: 'base', attributes: ['namingContexts'] });
    expect(mine.entries[0]!.attrs.namingContexts).toEqual([BASE]);
    const all = await (await boundAs('root@ops.test')).search('', { scope: 'base', attributes: ['namingContexts'] });
    expect(all.entries[0]!.attrs.namingContexts).toEqual(expect.arrayContaining([BASE, OTHER_BASE, 'ou=gal,dc=ops,dc=test']));
  });

  it('serves cn=Subschema with the classes and attribute types in use', async () => {
    const result = await client().search('cn=Subschema', { scope: 'base', filter: '(objectClass=subschema)', attributes: ['objectClasses', 'attributeTypes'] });
    const attrs = result.entries[0]!.attrs;
    expect(attrs.objectClasses!.some((v) => v.includes("NAME 'inetOrgPerson'"))).toBe(true);
    expect(attrs.objectClasses!.some((v) => v.includes("NAME 'groupOfNames'"))).toBe(true);
    expect(attrs.objectClasses!.some((v) => v.includes("NAME 'dmciResource'"))).toBe(true);
    expect(attrs.attributeTypes!.some((v) => v.includes("NAME 'roomCapacity'"))).toBe(true);
  });
});

describe('bad input', () => {
  it('answers writes with unwillingToPerform (53)', async () => {
    const c = await boundAs();
    const code = await new Promise<number>((resolve) => c.client.del(`mail=bob@example.com,${BASE}`, (error) => resolve((error as { code?: number } | null)?.code ?? 0)));
    expect(code).toBe(53);
  });

  it('caps filter depth with adminLimitExceeded (11)', async () => {
    let filter = '(cn=x)';
    for (let k = 0; k < 20; k++) filter = `(!${filter})`;
    const result = await (await boundAs()).search(BASE, { filter });
    // The diagnostic message is checked with ldapsearch: ldapjs's client drops it.
    expect(result.code).toBe(11);
  });

  it('caps filter length with adminLimitExceeded (11)', async () => {
    const filter = `(|${Array.from({ length: 400 }, (_, k) => `(cn=name${k})`).join('')})`;
    const result = await (await boundAs()).search(BASE, { filter });
    expect(result.code).toBe(11);
  });

  it('answers a critical unknown control with unavailableCriticalExtension (12)', async () => {
    const result = await (await boundAs()).search(BASE, { filter: '(cn=x)' }, [new (ldap as unknown as { Control: new (options: { type: string; criticality: boolean }) => ldap.Control }).Control({ type: '1.2.3.4.5', criticality: true })]);
    expect(result.code).toBe(12);
  });

  it('answers a malformed filter with protocolError (2) and keeps the connection', async () => {
    // A SearchRequest whose filter has the unknown tag 0x8f, then a valid one on the same connection.
    const search = (id: number, filter: Buffer) => {
      const body = Buffer.concat([Buffer.from([0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x01, 0x01, 0x00]), filter, Buffer.from([0x30, 0x00])]);
      const op = Buffer.concat([Buffer.from([0x63, body.length]), body]);
      const message = Buffer.concat([Buffer.from([0x02, 0x01, id]), op]);
      return Buffer.concat([Buffer.from([0x30, message.length]), message]);
    };
    const bad = search(1, Buffer.from([0x8f, 0x01, 0x78]));
    const good = search(2, Buffer.concat([Buffer.from([0x87, 0x0b]), Buffer.from('objectClass')]));
    const { received } = await rawExchange(server.app.ldapPort, Buffer.concat([bad, good]), 700);
    // Two SearchResultDone (0x65) messages: protocolError (2) for id 1, then an answer for id 2.
    const done = [...received.entries()].filter(([k, b]) => b === 0x65 && received[k + 2] === 0x0a).map(([k]) => received[k + 4]);
    expect(done).toEqual([2, 0]);
  });

  it('answers a SASL bind with authMethodNotSupported (7)', async () => {
    // BindRequest v3, name "", sasl { mechanism "EXTERNAL" }.
    const sasl = Buffer.concat([Buffer.from([0xa3, 0x0a, 0x04, 0x08]), Buffer.from('EXTERNAL')]);
    const body = Buffer.concat([Buffer.from([0x02, 0x01, 0x03, 0x04, 0x00]), sasl]);
    const message = Buffer.concat([Buffer.from([0x02, 0x01, 0x01, 0x60, body.length]), body]);
    const { received } = await rawExchange(server.app.ldapPort, Buffer.concat([Buffer.from([0x30, message.length]), message]), 700);
    const at = received.indexOf(0x61);
    expect(at).toBeGreaterThan(0);
    expect(received[at + 4]).toBe(7);
  });

  it('closes connections that send garbage or oversized messages, and stays up', async () => {
    expect((await rawExchange(server.app.ldapPort, Buffer.from('GET / HTTP/1.1\r\n\r\n'))).closed).toBe(true);
    expect((await rawExchange(server.app.ldapPort, Buffer.from([0x30, 0x84, 0x7f, 0xff, 0xff, 0xff]))).closed).toBe(true);
    // Thousands of tiny messages in one write: ldapjs alone would recurse once per message.
    const abandon = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x05, 0x50, 0x01, 0x01]);
    await rawExchange(server.app.ldapPort, Buffer.concat(Array.from({ length: 20_000 }, () => abandon)), 500);
    const result = await (await boundAs()).search(BASE, { filter: '(mail=bob@example.com)' });
    expect(mails(result)).toEqual(['bob@example.com']);
  });
});

describe('a client that never reads its answers', () => {
  it('stops being read past UNREAD_PAUSE_BYTES while everyone else is served', async () => {
    const message = (id: number, op: unknown) => ((op as { toBer(): { buffer: Buffer } }).toBer().buffer);
    const Ldap = ldap as unknown as { BindRequest: new (o: unknown) => unknown; SearchRequest: new (o: unknown) => unknown };
    const bind = message(1, new Ldap.BindRequest({ messageId: 1, name: 'alice@example.com', credentials: PASSWORD }));
    // Every entry with every attribute: a few KiB per answer.
    const searches = Array.from({ length: 2000 }, (_, k) => message(k + 2, new Ldap.SearchRequest({ messageId: k + 2, baseObject: BASE, scope: 'one', filter: ldap.parseFilter('(objectClass=*)'), attributes: ['*', '+'] })));
    // Searches answered with entries (not busy: a connection has at most 8 operations in progress).
    const searchesDone = async () => {
      const text = await (await fetch(`${server.opsUrl}/metrics`)).text();
      return [...text.matchAll(/^dmci_ldap_searches_total\{result="(\w+)"\} (\d+)/gm)].filter((m) => m[1] !== 'busy').reduce((sum, m) => sum + Number(m[2]), 0);
    };
    const before = await searchesDone();
    const socket = netConnect(server.app.ldapPort, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(bind);
    await new Promise((resolve) => socket.once('data', resolve));
    // From here on nothing is read: the kernel's buffers fill, then the server's.
    socket.pause();
    // A few at a time, so that each runs (not busy) while the server still reads.
    for (let k = 0; k < searches.length; k += 4) {
      socket.write(Buffer.concat(searches.slice(k, k + 4)));
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
    const ran = (await searchesDone()) - before;
    // Some ran (until the unread bytes passed the mark), far from all: the rest wait unread in the TCP connection.
    expect(ran).toBeGreaterThan(10);
    expect(ran).toBeLessThan(searches.length / 2);
    const other = await (await boundAs()).search(BASE, { filter: '(mail=bob@example.com)' });
    expect(mails(other)).toEqual(['bob@example.com']);
    socket.destroy();
  });
});

describe('account changes', () => {
  it('a connection bound to an account that is then disabled loses access (50)', async () => {
    await server.createAccount('erin@example.com', PASSWORD, 'user', 'Erin Exit');
    const c = await boundAs('erin@example.com');
    await server.app.services.accounts.setEnabled(systemActor, 'erin@example.com', false);
    const result = await c.search(BASE, { filter: '(mail=bob@example.com)' });
    expect(result.code).toBe(50);
    // The account check runs beside the search's query: nothing may go out before it fails, not even the base entry.
    expect(result.entries).toEqual([]);
    const subtree = await c.search(BASE, { scope: 'sub', filter: '(objectClass=*)' });
    expect([subtree.code, subtree.entries]).toEqual([50, []]);
    expect((await c.bind('erin@example.com', PASSWORD)).code).toBe(49);
  });
});
