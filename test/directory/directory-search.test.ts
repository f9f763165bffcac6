import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemActor, type Actor } from '../../server/accounts/actor.ts';
import type { Db } from '../../server/db/database.ts';
import { DirectoryService } from '../../server/directory/directory.service.ts';
import { importDirectory } from '../../server/directory/import/importer.ts';
import { refreshSearchTerms } from '../../server/directory/search/search-terms.ts';
import { createTestDatabase, dropTestDatabase, openTestDb } from '../helpers/database.ts';

/**
 * Directory/query and Directory/resolve over the ambiguous-name index
 * (directory_anr_keys): typed words are folded (case and diacritics),
 * each must start a word of a name, department or office, or an address;
 * pages come in display-name order, and the index follows every write.
 */
let url: string;
let db: Db;
let directory: DirectoryService;
let reader: Actor;
let domainId: string;
const DOMAIN = 'anr.test';

const people: Array<{ displayName: string; email: string; department?: string; office?: string; aliases?: string[]; commonNames?: string[] }> = [
  { displayName: 'Novák, Václav', email: 'vaclav.novak@anr.test', commonNames: ['Václav Novák'] },
  { displayName: 'Fourier, Lena', email: 'lena.fourier@anr.test', department: 'Research', aliases: ['lf@anr.test'] },
  { displayName: "Siobhán O'Brien", email: 'sob@anr.test', office: 'Dublin 2' },
  { displayName: 'Ελένη Παπαδοπούλου', email: 'eleni@anr.test' },
  { displayName: '山田 太郎', email: 'yamada@anr.test' },
  { displayName: 'Łukasz Żółć', email: 'lukasz@anr.test' },
  ...Array.from({ length: 30 }, (_, n) => ({ displayName: `Anna Test${String(n).padStart(2, '0')}`, email: `anna${n}@anr.test` })),
];

beforeAll(async () => {
  url = await createTestDatabase();
  db = openTestDb(url);
  domainId = (await sql<{ id: string }>`insert into domains (name) values (${DOMAIN}) returning id`.execute(db)).rows[0]!.id;
  await sql`insert into sync_scopes (id) values (${`gal:${domainId}`}) on conflict do nothing`.execute(db);
  directory = new DirectoryService(db, () => undefined);
  for (const { email, ...fields } of people) await directory.adminCreate(systemActor, { domain: DOMAIN, kind: 'person', fields: { ...fields, email }, ifNotExists: false });
  reader = { kind: 'account', accountId: '00000000-0000-4000-8000-000000000000', role: 'user', domainId, email: 'reader@anr.test' };
});
afterAll(async () => {
  await db?.destroy();
  await dropTestDatabase(url);
});

const query = async (text: string, limit = 50) => (await directory.query(reader, { text, position: 0, limit, calculateTotal: false })).entries.map((e) => e.email);

describe('Directory/query (ambiguous-name search)', () => {
  it('ignores case and diacritics: "vac", "Vác" and "VAC" find Václav', async () => {
    for (const typed of ['vac', 'Vác', 'VAC', 'novak', 'NOVÁ']) expect(await query(typed), typed).toEqual(['vaclav.novak@anr.test']);
    expect(await query('lukasz zolc')).toEqual(['lukasz@anr.test']);
    expect(await query('ελενη')).toEqual(['eleni@anr.test']);
    expect(await query('ΠΑΠ')).toEqual(['eleni@anr.test']);
    expect(await query('山')).toEqual(['yamada@anr.test']);
  });

  it('matches every typed word against the start of a word of names, department, office, or an address', async () => {
    expect(await query('lena fou')).toEqual(['lena.fourier@anr.test']);
    expect(await query('Fourier, Lena')).toEqual(['lena.fourier@anr.test']);
    expect(await query('research')).toEqual(['lena.fourier@anr.test']);
    expect(await query('lena.fo')).toEqual(['lena.fourier@anr.test']);
    expect(await query('lf@')).toEqual(['lena.fourier@anr.test']);
    expect(await query("o'brien")).toEqual(['sob@anr.test']);
    expect(await query('dublin')).toEqual(['sob@anr.test']);
    // Inside a word is not a match: "ourier" is not typed by anyone looking for Fourier.
    expect(await query('ourier')).toEqual([]);
    expect(await query('lena smith')).toEqual([]);
  });

  it('pages in display-name order with a cursor, one- and two-letter words included', async () => {
    for (const typed of ['a', 'an', 'ann']) {
      const all = await query(typed, 500);
      expect(all).toHaveLength(30);
      const seen: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await directory.query(reader, { text: typed, position: 0, limit: 7, calculateTotal: true, ...(after ? { after } : {}) });
        expect(page.total).toBe(30);
        seen.push(...page.entries.map((e) => e.email!));
        if (!page.hasMore) break;
        after = page.nextCursor;
      }
      expect(seen).toEqual(all);
      expect(all[0]).toBe('anna0@anr.test');
      expect(all[29]).toBe('anna29@anr.test');
    }
  });

  it('follows writes: a renamed entry is found by its new name only, a hidden one not at all', async () => {
    const [siobhan] = (await directory.query(reader, { text: 'siobhan', position: 0, limit: 5, calculateTotal: false })).entries;
    await directory.adminUpdate(systemActor, siobhan!.id, { displayName: 'Siobhán Murphy' });
    expect(await query('murphy')).toEqual(['sob@anr.test']);
    expect(await query('brien')).toEqual([]);
    await directory.adminUpdate(systemActor, siobhan!.id, { hidden: true });
    expect(await query('murphy')).toEqual([]);
    expect(await query('sob@')).toEqual([]);
    await directory.adminUpdate(systemActor, siobhan!.id, { hidden: false });
    expect(await query('sob@')).toEqual(['sob@anr.test']);
  });

  it('resolves a unique folded prefix exactly', async () => {
    const { results } = await directory.resolve(reader, { names: ['vaclav', 'anna', 'nobody'], maxCandidates: 5, expandGroups: false, maxMembers: 10 });
    expect(results.map((r) => r.status)).toEqual(['exact', 'ambiguous', 'notFound']);
  });
});

describe('search terms written in bulk', () => {
  /** Every term row of the domain, in one comparable order. */
  const terms = async () => ({
    match: (await sql`select entry_id, attr, value, approx from directory_match_values where domain_id = ${domainId} order by 1, 2, 3`.execute(db)).rows,
    anr: (await sql`select entry_id, visible, kind, key, sort_name from directory_anr_keys where domain_id = ${domainId} order by 1, 4`.execute(db)).rows,
  });
  const importCsv = (text: string) => importDirectory(db, text, { format: 'csv', domain: DOMAIN, publish: () => undefined });

  it('an import that creates, renames, re-aliases and hides entries leaves the terms a recomputation gives', async () => {
    const created = await importCsv(
      ['email,displayName,givenName,surname,department,aliases', ...Array.from({ length: 40 }, (_, n) => `bulk${n}@anr.test,Bulk Person${n},Bulk,Person${n},Dept ${n % 3},b${n}@anr.test`)].join('\n'),
    );
    expect(created.created).toBe(40);
    const changed = await importCsv(
      [
        'email,displayName,aliases,hidden',
        ...Array.from({ length: 40 }, (_, n) => `bulk${n}@anr.test,${n % 2 ? `Renamed Žofie${n}` : `Bulk Person${n}`},${n % 4 === 0 ? `c${n}@anr.test` : `b${n}@anr.test`},${n % 5 === 0}`),
      ].join('\n'),
    );
    expect(changed.errors).toBe(0);
    expect(changed.updated).toBeGreaterThan(20);
    // Odd ones renamed; bulk15 is hidden (every fifth).
    expect(await query('zofie1')).toEqual(['bulk1@anr.test', 'bulk11@anr.test', 'bulk13@anr.test', 'bulk17@anr.test', 'bulk19@anr.test']);
    expect(await query('c4@')).toEqual(['bulk4@anr.test']);
    expect(await query('b4@')).toEqual([]);
    expect(await query('bulk0@')).toEqual([]);

    const written = await terms();
    const ids = (await sql<{ id: string }>`select id from directory_entries where domain_id = ${domainId}`.execute(db)).rows.map((r) => r.id);
    await refreshSearchTerms(db, ids);
    expect(await terms()).toEqual(written);
  });

  it('an entry row that goes (a pruned tombstone, a removed domain) takes its terms with it', async () => {
    const [entry] = (await directory.query(reader, { text: 'bulk3@', position: 0, limit: 1, calculateTotal: false })).entries;
    const count = async () => Number((await sql<{ n: string }>`select (select count(*) from directory_match_values where entry_id = ${entry!.id}) + (select count(*) from directory_anr_keys where entry_id = ${entry!.id}) as n`.execute(db)).rows[0]!.n);
    expect(await count()).toBeGreaterThan(0);
    await sql`delete from directory_entries where id = ${entry!.id}`.execute(db);
    expect(await count()).toBe(0);
  });
});
