import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../../server/db/database.ts';
import { parseAttributeSelection } from '../../server/ldap/ldap-attributes.ts';
import { galEntry } from '../../server/ldap/ldap-entry.ts';
import { filterToSql } from '../../server/ldap/ldap-filter-sql.ts';
import type { FilterNode } from '../../server/ldap/ldap-filter.ts';
import { matchesEntry, syntheticEntry } from '../../server/ldap/ldap-match.ts';
import { galQuery, searchGal } from '../../server/ldap/ldap-search.repository.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';
import { refreshStaleSearchTerms } from '../../server/directory/search/search-terms.ts';
import { seedGal } from '../helpers/ldap.ts';

/**
 * The filter translator against PostgreSQL: it must agree with the in-memory
 * three-valued evaluator on every filter, and the searches Outlook sends
 * must be answerable from the prefix indexes.
 */
let url: string;
let db: Db;
let domainId: string;
const DOMAIN = 'sql.test';
const needs = { aliases: true, members: true, photo: false };

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  await seedGal(db, DOMAIN, [
    { email: 'ann@sql.test', displayName: 'Ann Archer', givenName: 'Ann', surname: 'Archer', title: 'Boss', department: 'Board', aliases: ['a@sql.test'] },
    { email: 'abe@sql.test', displayName: 'Abe Abel', givenName: 'Abe', surname: 'Abel', department: 'Sales', managerEmail: 'ann@sql.test' },
    { email: 'bea@sql.test', displayName: 'Bea Bell', givenName: 'Bea', title: 'Engineer', managerEmail: 'ann@sql.test' },
    { email: 'cy@sql.test', displayName: 'cy', surname: 'Cyan' },
    { displayName: 'No Mail', givenName: 'No', surname: 'Mail', title: 'Contractor' },
    { kind: 'group', email: 'team@sql.test', displayName: 'Team', members: ['ann@sql.test', 'bea@sql.test'] },
    { kind: 'resource', email: 'room@sql.test', displayName: 'Room One', capacity: 8, location: 'Attic', resourceType: 'room' },
    { email: 'hid@sql.test', displayName: 'Abe Hidden', givenName: 'Abe', surname: 'Hidden', hidden: true },
  ]);
  domainId = (await sql<{ id: string }>`select id from domains where name = ${DOMAIN}`.execute(db)).rows[0]!.id;
});
afterAll(async () => {
  await db?.destroy();
  await dropTestDatabase(url);
});

async function sqlMatches(filter: FilterNode): Promise<string[]> {
  const rows = await searchGal(db, { domainId, where: filterToSql(filter, { domainId, domain: DOMAIN }), limit: 1000, needs });
  return rows.map((r) => r.display_name).sort();
}

async function memoryMatches(filter: FilterNode): Promise<string[]> {
  const rows = await searchGal(db, { domainId, where: sql<boolean>`true`, limit: 1000, needs });
  const selection = parseAttributeSelection(['*', '+']);
  return rows
    .filter((row) => {
      const entry = galEntry(row, DOMAIN, selection, false);
      const attributes = Object.fromEntries(entry.attributes.map((a) => [a.type, a.values.map(String)]));
      return matchesEntry(filter, syntheticEntry(attributes));
    })
    .map((r) => r.display_name)
    .sort();
}

describe('filter → SQL', () => {
  it('agrees with the in-memory three-valued evaluator on random filters', async () => {
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    const attributes = ['cn', 'sn', 'givenName', 'mail', 'title', 'department', 'otherMailbox', 'objectClass', 'noSuch'];
    const values = ['a', 'ab', 'abe', 'ann', 'b', 'boss', 'engineer', 'sales', 'person', 'groupofnames', 'a@sql.test', 'abe@sql.test', 'cyan', 'x'];
    const leaf = (): FilterNode => {
      const attribute = attributes[random(attributes.length)]!;
      const value = values[random(values.length)]!;
      switch (random(6)) {
        case 0:
          return { type: 'equality', attribute, value };
        case 1:
          return { type: 'substrings', attribute, initial: value, any: [] };
        case 2:
          return { type: 'substrings', attribute, any: [value.slice(0, 1)], final: value.slice(-1) };
        case 3:
          return { type: 'present', attribute };
        case 4:
          return { type: 'approx', attribute, value };
        default:
          return { type: random(2) ? 'gte' : 'lte', attribute, value };
      }
    };
    const tree = (depth: number): FilterNode => {
      if (depth === 0 || random(3) === 0) return leaf();
      const kind = random(3);
      if (kind === 0) return { type: 'not', child: tree(depth - 1) };
      return { type: kind === 1 ? 'and' : 'or', children: [tree(depth - 1), tree(depth - 1), ...(random(2) ? [tree(depth - 1)] : [])] };
    };
    for (let k = 0; k < 150; k++) {
      const filter = tree(4);
      expect(await sqlMatches(filter), JSON.stringify(filter)).toEqual(await memoryMatches(filter));
    }
  });

  it('resolves DN assertions on manager and member inside the domain', async () => {
    expect(await sqlMatches({ type: 'equality', attribute: 'manager', value: `MAIL=Ann@sql.test,ou=gal,dc=sql,dc=test` })).toEqual(['Abe Abel', 'Bea Bell']);
    expect(await sqlMatches({ type: 'equality', attribute: 'member', value: 'mail=bea@sql.test,ou=gal,dc=sql,dc=test' })).toEqual(['Team']);
    expect(await sqlMatches({ type: 'equality', attribute: 'member', value: 'mail=bea@sql.test,ou=gal,dc=other,dc=test' })).toEqual([]);
    // A DN naming nothing is FALSE, and so is any test of an absent attribute (as slapd answers): NOT turns both TRUE.
    expect(await sqlMatches({ type: 'not', child: { type: 'equality', attribute: 'manager', value: 'mail=nobody@sql.test,ou=gal,dc=sql,dc=test' } })).toEqual(['Abe Abel', 'Ann Archer', 'Bea Bell', 'No Mail', 'Room One', 'Team', 'cy']);
    expect(await sqlMatches({ type: 'equality', attribute: 'manager', value: 'not a dn' })).toEqual([]);
  });

  it('compares roomCapacity as a number', async () => {
    expect(await sqlMatches({ type: 'gte', attribute: 'roomCapacity', value: '10' })).toEqual([]);
    expect(await sqlMatches({ type: 'gte', attribute: 'roomCapacity', value: '7' })).toEqual(['Room One']);
    expect(await sqlMatches({ type: 'equality', attribute: 'roomCapacity', value: 'eight' })).toEqual([]);
  });

  it("answers Outlook's prefix search from the prefix indexes", async () => {
    await sql`insert into directory_entries (domain_id, kind, email, display_name, given_name, surname, modseq)
      select ${domainId}, 'person', 'user' || g || '@sql.test', 'User ' || g, 'Given' || g, 'Sur' || g, 1 from generate_series(1, 3000) g`.execute(db);
    await refreshStaleSearchTerms(db);
    await sql`analyze directory_entries`.execute(db);
    await sql`analyze directory_match_values`.execute(db);
    const filter: FilterNode = {
      type: 'or',
      children: ['cn', 'mail', 'sn', 'givenName'].map((attribute) => ({ type: 'substrings', attribute, initial: 'ab', any: [] })),
    };
    const query = galQuery({ domainId, where: filterToSql(filter, { domainId, domain: DOMAIN }), limit: 51, needs: { aliases: false, members: false, photo: false } });
    const plan = await db.transaction().execute(async (trx) => {
      // Proves the predicates are indexable: with sequential scans priced out, only an index can serve them.
      await sql`set local enable_seqscan = off`.execute(trx);
      const { rows } = await sql<{ 'QUERY PLAN': string }>`explain ${query}`.execute(trx);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
    expect(plan).not.toContain('Seq Scan');
    // Each prefix is a range of the prepared-values index ("ab" ≤ value < "ac"), one per attribute.
    expect(plan.match(/Index Cond: .*attr = '(cn|mail|sn|givenName)'::text\) AND \(value ~>=~ 'ab'::text\) AND \(value ~<~ 'ac'::text\)/g)).toHaveLength(4);
    expect(await sqlMatches(filter)).toEqual(['Abe Abel']);
  });
});
