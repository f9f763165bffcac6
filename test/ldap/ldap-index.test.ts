import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor } from '../../server/accounts/actor.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { createLogger } from '../../server/log/logger.ts';
import type { OutgoingEntry } from '../../server/ldap/ldap-entry.ts';
import { INDEX_REBUILD_AFTER, LdapIndex } from '../../server/ldap/ldap-index.ts';
import { ATTRIBUTES } from '../../server/ldap/ldap-schema.ts';
import { LdapSearch } from '../../server/ldap/ldap-search.ts';
import { encodeOutgoing } from '../../server/ldap/ldap-answer.ts';
import { filterNode } from '../helpers/ldap.ts';
import { filterToString, type FilterNode } from '../../server/ldap/ldap-filter.ts';
import { raiseMinModseq } from '../../server/sync/sync-scope.repository.ts';
import type { TestServer } from '../helpers/server.ts';
import { BASE, FILLERS, SEARCH_LIMITS, startGalServer } from './gal-fixture.ts';

/**
 * The LDAP door's in-memory GAL index (server/ldap/ldap-index.ts), on a
 * second "node": its own LdapIndex and LdapSearch over the test server's
 * database, while every write goes through the server's services (another
 * node, as far as the index can tell). Each answer is compared byte for byte
 * with the SQL path's answer to the same search.
 */
const limits = SEARCH_LIMITS;
const log = createLogger('silent');
/** Every attribute the index holds (all but photos and members, which send a search to SQL), operational ones included. */
const HELD = [...ATTRIBUTES.filter((def) => def.source.kind !== 'photo' && def.source.kind !== 'members').map((def) => def.name), '+'];

let server: TestServer;
let domainId: string;
let index: LdapIndex;
let indexed: LdapSearch;
let bySql: LdapSearch;

beforeAll(async () => {
  server = await startGalServer();
  domainId = (await sql<{ id: string }>`select id from domains where name = 'example.com'`.execute(server.app.db)).rows[0]!.id;
  index = new LdapIndex({ db: server.app.db, maxBytes: 64 * 1024 * 1024, log });
  indexed = new LdapSearch({ db: server.app.db, limits, vendorVersion: 'test', index });
  bySql = new LdapSearch({ db: server.app.db, limits, vendorVersion: 'test' });
  // The first search starts the build (and is answered by SQL).
  await run(indexed, '(mail=x*)');
  await index.settled(domainId);
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

/** A search's outcome as the wire would carry it: result code, and each entry's bytes. */
async function run(search: LdapSearch, filter: string | FilterNode, attributes: string[] = HELD, options: { sizeLimit?: number; scope?: 'one' | 'sub' } = {}) {
  const entries: string[] = [];
  const done = await search.search(
    undefined,
    {
      base: BASE,
      scope: options.scope ?? 'one',
      // Nodes for values ldapjs's string parser would keep escaped (it does not unescape \\xx).
      filter: typeof filter === 'string' ? filterNode(filter) : filter,
      attributes,
      typesOnly: false,
      sizeLimit: options.sizeLimit ?? 0,
      timeLimitSeconds: 0,
    },
    (entry: OutgoingEntry) => entries.push(encodeOutgoing(entry, 7).toString('hex')),
  );
  return { code: done.code, entries };
}

/** Runs the search on the index node; asserts the index answered it and that SQL answers the same bytes. */
async function same(filter: string | FilterNode, attributes?: string[], options?: { sizeLimit?: number; scope?: 'one' | 'sub' }) {
  const before = index.answered;
  const ours = await run(indexed, filter, attributes, options);
  const text = typeof filter === 'string' ? filter : filterToString(filter);
  expect(index.answered, `the index answered ${text}`).toBe(before + 1);
  expect(ours, text).toEqual(await run(bySql, filter, attributes, options));
  return ours.entries.length;
}

function mailsOf(entries: string[]): string[] {
  return entries.map((hex) => /mail=([^,]+),ou=gal/.exec(Buffer.from(hex, 'hex').toString('latin1'))?.[1] ?? '?');
}

describe('answers as SQL does', () => {
  it('ambiguous-name prefixes, equality, aliases, every selection', async () => {
    const filters = [
      '(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))',
      '(|(cn=a*)(mail=a*)(sn=a*)(givenName=a*))',
      '(|(cn=f*)(sn=f*))',
      '(mail=bob@example.com)',
      '(mail=BOBBY@example.com)',
      '(otherMailbox=bobby*)',
      '(proxyAddresses=smtp:b.brown@example.com)',
      '(|(mail=hh*)(cn=harry*))',
      '(|(cn=dora*)(mail=carol*))',
      '(cn=Filler 0*)',
      '(|(sn=zed)(cn=room*)(title=contractor))',
    ];
    let total = 0;
    for (const filter of filters) {
      for (const attributes of [HELD, ['cn', 'mail', 'sn', 'givenName', 'title', 'department'], ['1.1'], ['manager', 'objectClass', 'entryUUID']]) {
        total += await same(filter, attributes);
      }
    }
    expect(total).toBeGreaterThan(50);
  });

  it('size limits, sub scope (the base entry first) and paging', async () => {
    await same('(|(cn=f*)(sn=f*))', ['mail'], { sizeLimit: 7 });
    await same('(|(cn=f*)(objectClass=organizationalUnit))', ['mail'], { scope: 'sub' });
    const pages: string[] = [];
    let cookie: Buffer = Buffer.alloc(0);
    do {
      const entries: string[] = [];
      const done = await indexed.search(
        undefined,
        { base: BASE, scope: 'one', filter: filterNode('(sn=filler)'), attributes: ['mail'], typesOnly: false, sizeLimit: 0, timeLimitSeconds: 0, paged: { size: 4, cookie } },
        (entry) => entries.push(encodeOutgoing(entry, 7).toString('hex')),
      );
      pages.push(...entries);
      cookie = done.cookie ?? Buffer.alloc(0);
    } while (cookie.length > 0);
    expect(pages).toHaveLength(25);
    expect(pages).toEqual((await run(bySql, '(sn=filler)', ['mail'])).entries);
  });

  it('hidden, deleted and disabled entries never appear', async () => {
    expect(await same('(|(mail=harry*)(mail=hh*)(mail=dora*)(mail=carol*))')).toBe(0);
  });
});

describe('every filter shape it holds, as SQL answers it', () => {
  it('AND / OR / NOT, presence, any and final substrings, equality, objectClass, capacity, ids, timestamps', async () => {
    const filters = [
      '(&(objectClass=person)(sn=f*)(cn=filler 1*))',
      '(mail=*ob*)',
      '(&(givenName=a*)(!(department=sales)))',
      '(|(sn=*er)(displayName=filler 0* 0*))',
      '(&(ou=r*)(cn=*bro*))',
      '(!(sn=filler))',
      '(&(sn=*)(!(title=*)))',
      '(|(otherMailbox=*)(proxyAddresses=smtp:b.brown*))',
      '(mail=*@example.com)',
      '(cn=*ler 1*)',
      '(sn=f*r)',
      '(telephoneNumber=+1-555-0100)',
      '(telephoneNumber~=+15550100)',
      '(mobile=*0199)',
      '(objectClass=groupOfNames)',
      '(!(objectClass=inetOrgPerson))',
      '(|(objectClass=dmciResource)(roomCapacity>=10))',
      '(roomCapacity<=11)',
      '(roomCapacity=12)',
      '(roomCapacity=*)',
      '(manager=*)',
      '(!(manager=*))',
      '(createTimestamp>=20000101000000Z)',
      '(modifyTimestamp<=20000101000000Z)',
      '(&(entryDN=*)(hasSubordinates=*)(sn=zed))',
      '(uid=*-*)',
      '(entryUUID>=80000000-0000-0000-0000-000000000000)',
      '(entryUUID<=80000000-0000-0000-0000-000000000000)',
      '(uid=not-a-uuid)',
      '(&(cn=*)(objectClass=*)(!(cn=filler*)))',
      '(|(cn=ab*)(mail=ab*)(sn=ab*)(givenName=ab*))',
      '(&(|(sn=filler)(sn=brown))(|(mail=*0@*)(mail=bob*)))',
      '(|(&(sn=filler)(mail=*7@*))(&(objectClass=groupOfNames)(mail=eng@example.com)))',
    ];
    const nodes: FilterNode[] = [
      { type: 'substrings', attribute: 'title', any: [], final: '\\o/' },
      { type: 'equality', attribute: 'title', value: 'ZED (the *real*   one) \\o/' },
      { type: 'substrings', attribute: 'title', initial: 'zed (', any: ['*'], final: ')  \\o/' },
    ];
    let total = 0;
    for (const filter of [...filters, ...nodes]) {
      for (const attributes of [HELD, ['cn', 'mail', 'sn', 'givenName', 'title', 'department'], ['1.1']]) total += await same(filter, attributes);
    }
    expect(total).toBeGreaterThan(300);
    // Paged through in small pages: the same entries in the same order.
    await same('(mail=*e*)', ['mail'], { sizeLimit: 5 });
  });

  it('keeps three values: Undefined is neither TRUE nor FALSE, and NOT Undefined stays Undefined', async () => {
    const all = await same('(objectClass=*)', ['1.1']);
    expect(all).toBeGreaterThan(30);
    // An unknown attribute, ordering on a name (no ORDERING rule), assertions that cannot be prepared
    // (not IA5, a private-use code point, no approximate key): Undefined.
    const undefinedItems: FilterNode[] = [
      { type: 'equality', attribute: 'nosuchattribute', value: 'x' },
      { type: 'gte', attribute: 'sn', value: 'm' },
      { type: 'equality', attribute: 'mail', value: 'josé@example.com' },
      { type: 'substrings', attribute: 'cn', initial: '\uE000', any: [] },
      { type: 'approx', attribute: 'sn', value: '-' },
    ];
    const filler: FilterNode = { type: 'equality', attribute: 'sn', value: 'filler' };
    for (const item of undefinedItems) {
      expect(await same(item, ['1.1'])).toBe(0);
      expect(await same({ type: 'not', child: item }, ['1.1'])).toBe(0);
      // TRUE OR Undefined is TRUE; FALSE OR Undefined is Undefined (so NOT of it finds nothing).
      expect(await same({ type: 'or', children: [filler, item] }, ['1.1'])).toBe(FILLERS);
      expect(await same({ type: 'not', child: { type: 'or', children: [filler, item] } }, ['1.1'])).toBe(0);
      // FALSE AND Undefined is FALSE (NOT of it: TRUE); TRUE AND Undefined is Undefined.
      expect(await same({ type: 'not', child: { type: 'and', children: [filler, item] } }, ['1.1'])).toBe(all - FILLERS);
    }
    // A known attribute the entry lacks is FALSE, so NOT of it is TRUE.
    expect(await same('(!(title=ceo))', ['1.1'])).toBe(all - 1);
    // A telephone number part of only hyphens matches nothing (FALSE, not Undefined).
    expect(await same('(!(telephoneNumber=*-*))', ['1.1'])).toBe(all);
  });

  it('stops at the size limit on walks and on lookups, as SQL does', async () => {
    const limited = await run(indexed, '(mail=*e*)', ['mail'], { sizeLimit: 3 });
    expect(limited.code).toBe(4);
    expect(limited.entries).toHaveLength(3);
    await same('(mail=*e*)', ['mail'], { sizeLimit: 3 });
    await same('(&(sn=filler)(!(mail=*3@*)))', ['mail'], { sizeLimit: 10 });
    await same('(!(sn=nobody))', ['mail'], { sizeLimit: 1, scope: 'sub' });
  });

  it('never shows hidden, deleted or disabled entries, whatever the filter', async () => {
    const everything = mailsOf((await run(indexed, '(!(sn=nobody))', ['mail'])).entries);
    expect(everything).toContain('bob@example.com');
    for (const gone of ['harry@example.com', 'dora@example.com', 'carol@example.com']) expect(everything).not.toContain(gone);
    for (const filter of ['(!(sn=nobody))', '(|(mail=*arry*)(mail=*ora@*)(otherMailbox=hh*)(sn=*losed))', '(&(objectClass=person)(!(mail=*carol*)))']) await same(filter);
    expect(await same('(|(mail=*arry*)(mail=*ora@*)(otherMailbox=hh*)(sn=*losed))')).toBe(0);
  });
});

describe('fresh after writes made elsewhere', () => {
  const directory = () => server.app.services.directory;
  const idOf = async (email: string) => (await sql<{ id: string }>`select id from directory_entries where email = ${email} and not deleted`.execute(server.app.db)).rows[0]!.id;

  it('sees an update, a hide, a create and a delete at once', async () => {
    const bob = await idOf('bob@example.com');
    await directory().adminUpdate(systemActor, bob, { title: 'Chief Tinkerer', surname: 'Braun' });
    expect(await same('(sn=braun)')).toBe(1);
    expect(await same('(sn=brown)')).toBe(0);
    // Every shape tests the changed entry's new values, never the snapshot's old ones.
    expect(await same('(&(title=*tinker*)(!(sn=brown)))')).toBe(1);
    expect(await same('(sn=*aun)')).toBe(1);
    expect(await same('(|(sn=*own)(title=engineer))')).toBe(0);
    expect(await same('(&(mail=bob*)(!(sn=braun)))')).toBe(0);
    expect(mailsOf((await run(indexed, '(!(sn=brown))', ['mail'])).entries)).toContain('bob@example.com');
    await same('(!(sn=brown))', ['mail']);

    await directory().adminHide(systemActor, bob, true);
    expect(await same('(|(sn=braun)(mail=bob*))')).toBe(0);
    await directory().adminHide(systemActor, bob, false);
    expect(await same('(|(sn=braun)(mail=bob*))')).toBe(1);

    await directory().adminCreate(systemActor, { domain: 'example.com', kind: 'person', ifNotExists: false, fields: { displayName: 'Quentin Quick', email: 'quentin@example.com', surname: 'Quick' } });
    expect(await same('(|(sn=qu*)(mail=qu*))')).toBe(1);
    expect(await same('(&(objectClass=person)(sn=*ick)(!(mail=*@other.test)))')).toBe(1);
    await directory().adminDelete(systemActor, await idOf('quentin@example.com'));
    expect(await same('(|(sn=qu*)(mail=qu*))')).toBe(0);
  });

  it("sees an account disabled, and a manager's new address on the people it manages", async () => {
    expect(mailsOf((await run(indexed, '(mail=dave*)')).entries)).toEqual(['dave@example.com']);
    await server.app.services.accounts.setEnabled(systemActor, 'dave@example.com', false);
    expect(await same('(mail=dave*)')).toBe(0);
    await server.app.services.accounts.setEnabled(systemActor, 'dave@example.com', true);
    expect(await same('(mail=dave*)')).toBe(1);

    await directory().adminCreate(systemActor, { domain: 'example.com', kind: 'person', ifNotExists: false, fields: { displayName: 'Mona Manager', email: 'mona@example.com' } });
    const mona = await idOf('mona@example.com');
    await directory().adminCreate(systemActor, { domain: 'example.com', kind: 'person', ifNotExists: false, fields: { displayName: 'Ned Report', email: 'ned@example.com', managerId: mona } });
    expect(await same('(mail=ned@example.com)', ['manager'])).toBe(1);
    // Only Mona's row is stamped: Ned's manager DN changes without Ned's row changing.
    await directory().adminUpdate(systemActor, mona, { email: 'mona.m@example.com' });
    const { entries } = await run(indexed, '(mail=ned@example.com)', ['manager']);
    expect(Buffer.from(entries[0]!, 'hex').toString('latin1')).toContain('mail=mona.m@example.com');
    await same('(mail=ned@example.com)', ['manager']);
  });

  it('sees an import', async () => {
    const ldif = ['dn: mail=imported@example.com,ou=gal,dc=example,dc=com', 'objectClass: inetOrgPerson', 'mail: imported@example.com', 'cn: Ida Imported', 'sn: Imported', ''].join('\n');
    const report = await importDirectory(server.app.db, ldif, { format: 'ldif', domain: 'example.com', publish: () => undefined });
    expect(report.errors).toBe(0);
    expect(await same('(|(sn=imp*)(cn=ida*))')).toBe(1);
  });
});

describe('rebuilds and bounds', () => {
  it('rebuilds when the change log was pruned past it, SQL answering meanwhile', async () => {
    const version = (await sql<{ modseq: number }>`select modseq from sync_scopes where id = ${`gal:${domainId}`}`.execute(server.app.db)).rows[0]!.modseq;
    await raiseMinModseq(server.app.db, `gal:${domainId}`, version + 1);
    await sql`update sync_scopes set modseq = modseq + 1 where id = ${`gal:${domainId}`}`.execute(server.app.db);
    const before = index.answered;
    expect(await run(indexed, '(mail=bob*)')).toEqual(await run(bySql, '(mail=bob*)'));
    expect(index.answered).toBe(before);
    await index.settled(domainId);
    await same('(mail=bob*)');
  });

  it('over its memory bound, holds nothing and lets SQL answer', async () => {
    const small = new LdapIndex({ db: server.app.db, maxBytes: 2_000, log });
    const search = new LdapSearch({ db: server.app.db, limits, vendorVersion: 'test', index: small });
    expect(await run(search, '(mail=bob*)')).toEqual(await run(bySql, '(mail=bob*)'));
    await small.settled(domainId);
    expect(small.bytes).toBe(0);
    expect(await run(search, '(|(cn=f*)(sn=f*))')).toEqual(await run(bySql, '(|(cn=f*)(sn=f*))'));
    expect(small.answered).toBe(0);
  });

  it('leaves what it does not hold to SQL: members, manager DNs, photos, phonetic approx', async () => {
    const before = index.answered;
    for (const filter of ['(member=*)', '(member=mail=bob@example.com,ou=gal,dc=example,dc=com)', '(manager=mail=alice@example.com,ou=gal,dc=example,dc=com)', '(sn~=fyler)', '(|(jpegPhoto=*)(sn=zed))']) {
      expect(await run(indexed, filter)).toEqual(await run(bySql, filter));
    }
    // Photos and members are not held.
    expect(await run(indexed, '(mail=bob*)', ['jpegPhoto'])).toEqual(await run(bySql, '(mail=bob*)', ['jpegPhoto']));
    expect(await run(indexed, '(mail=eng*)', ['member'])).toEqual(await run(bySql, '(mail=eng*)', ['member']));
    expect(index.answered).toBe(before);
  });

  it('after more than INDEX_REBUILD_AFTER changes, keeps answering while a rebuilt snapshot replaces the old one', async () => {
    const count = INDEX_REBUILD_AFTER + 50;
    const ldif = Array.from({ length: count }, (_, k) =>
      [`dn: mail=bulk${k}@example.com,ou=gal,dc=example,dc=com`, 'objectClass: inetOrgPerson', `mail: bulk${k}@example.com`, `cn: Bulk ${k}`, 'sn: Bulkload', ''].join('\n'),
    ).join('\n');
    expect((await importDirectory(server.app.db, ldif, { format: 'ldif', domain: 'example.com', publish: () => undefined })).errors).toBe(0);
    // Answered from the snapshot plus the changes; the rebuild starts beside it.
    // (More match than DMCI_LDAP_MAX_SIZE: both paths stop at the same 1,000.)
    expect(await same('(sn=bulkload)', ['mail'])).toBe(limits.maxSize);
    await index.settled(domainId);
    // The rebuilt snapshot holds them (without the rebuild, all of them would still be held beside it) and answers the same.
    expect(index.changesHeld(domainId)).toBe(0);
    expect(await same('(|(sn=bulkload)(cn=bulk 1*))', ['mail', 'cn'])).toBe(limits.maxSize);
    expect(await same('(cn=bulk 104*)', ['mail', 'cn'])).toBe(11);
    expect(await same('(mail=bulk7@example.com)')).toBe(1);
  });
});
