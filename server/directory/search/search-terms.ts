import { sql } from 'kysely';
import type { Db } from '../../db/database.ts';
import type { DirectoryEntryRow } from '../directory.table.ts';
import { approxKeys, foldName, words } from './name-fold.ts';
import { prepareValue, type MatchRule } from './string-prep.ts';

/**
 * The GAL's search terms: what directory_match_values (LDAP matching) and
 * directory_anr_keys (ambiguous-name search) hold for an entry, computed
 * here in one place from the entry's columns and aliases. Every write of an
 * entry's searchable columns, visibility or aliases goes through
 * directory.repository.ts, which calls refreshSearchTerms in the same
 * transaction; rows written another way (a migration, a benchmark's bulk
 * insert) have terms_version null and are brought up to date by
 * refreshStaleSearchTerms at start-up.
 */

/** Bump when the terms computed from the same entry change: start-up then recomputes every entry. */
export const TERMS_VERSION = 1;

/** The entry columns terms are computed from. */
export const TERM_COLUMNS = [
  'display_name',
  'common_names',
  'given_name',
  'surname',
  'email',
  'title',
  'department',
  'company',
  'office',
  'business_phone',
  'mobile_phone',
  'resource_type',
  'location',
] as const;
export type TermSource = Pick<DirectoryEntryRow, 'id' | (typeof TERM_COLUMNS)[number]> & { aliases: string[] };

/**
 * The matchable fields: the key stored in directory_match_values.attr, the
 * matching rule its values are prepared with, and its values. LDAP
 * attributes name one of these keys (ldap-schema.ts, `match`); a test
 * checks that each attribute's EQUALITY rule is this field's rule.
 */
export const MATCH_FIELDS = {
  cn: { rule: 'caseIgnore', values: (e: TermSource) => (e.common_names?.length ? e.common_names : [e.display_name]) },
  displayName: { rule: 'caseIgnore', values: (e: TermSource) => [e.display_name] },
  givenName: { rule: 'caseIgnore', values: (e: TermSource) => [e.given_name] },
  sn: { rule: 'caseIgnore', values: (e: TermSource) => [e.surname] },
  mail: { rule: 'caseIgnoreIA5', values: (e: TermSource) => [e.email] },
  otherMailbox: { rule: 'caseIgnoreIA5', values: (e: TermSource) => e.aliases },
  proxyAddresses: { rule: 'caseIgnore', values: (e: TermSource) => proxyAddresses(e.email, e.aliases) },
  title: { rule: 'caseIgnore', values: (e: TermSource) => [e.title] },
  department: { rule: 'caseIgnore', values: (e: TermSource) => [e.department] },
  company: { rule: 'caseIgnore', values: (e: TermSource) => [e.company] },
  office: { rule: 'caseIgnore', values: (e: TermSource) => [e.office] },
  telephoneNumber: { rule: 'telephoneNumber', values: (e: TermSource) => [e.business_phone] },
  mobile: { rule: 'telephoneNumber', values: (e: TermSource) => [e.mobile_phone] },
  resourceType: { rule: 'caseIgnore', values: (e: TermSource) => [e.resource_type] },
  location: { rule: 'caseIgnore', values: (e: TermSource) => [e.location] },
} satisfies Record<string, { rule: MatchRule; values: (e: TermSource) => Array<string | null> }>;
export type MatchKey = keyof typeof MATCH_FIELDS;

/** Exchange style: `SMTP:` the primary address, `smtp:` each alias (what LDAP's proxyAddresses shows). */
export function proxyAddresses(email: string | null, aliases: readonly string[]): string[] {
  return [...(email ? [`SMTP:${email}`] : []), ...aliases.map((alias) => `smtp:${alias}`)];
}

export interface MatchValue {
  attr: MatchKey;
  value: string;
  approx: string[];
}

export function matchValues(entry: TermSource): MatchValue[] {
  const out: MatchValue[] = [];
  forEachMatchValue(entry, (attr, value, raw) => out.push({ attr, value, approx: approxKeys(raw) }));
  return out;
}

const MATCH_ENTRIES = Object.entries(MATCH_FIELDS) as Array<[MatchKey, (typeof MATCH_FIELDS)[MatchKey]]>;

/**
 * Each distinct prepared value of each matchable field of an entry, with the
 * raw value it came from: what directory_match_values stores, and what the
 * LDAP door's in-memory index (ldap-index.ts) holds, computed in this one place.
 */
export function forEachMatchValue(entry: TermSource, visit: (attr: MatchKey, value: string, raw: string) => void): void {
  for (const [attr, field] of MATCH_ENTRIES) {
    const seen = new Set<string>();
    for (const raw of field.values(entry)) {
      if (!raw) continue;
      const value = prepareValue(raw, field.rule);
      // A stored value that cannot be prepared (a private-use character) matches no assertion, as in slapd.
      if (value === undefined || seen.has(value)) continue;
      seen.add(value);
      visit(attr, value, raw);
    }
  }
}

/** Letters of a word's prefixes stored besides the word, so that short typed prefixes are equality lookups. */
const SHORT_PREFIXES = 2;

/**
 * The ambiguous-name keys of an entry: the folded words of its names (display
 * name, cn values, given name, surname), department and office; each address
 * (email and aliases) whole and the words of its local part; and the one- and
 * two-letter prefixes of every word.
 */
export function anrKeys(entry: TermSource): string[] {
  const keys = new Set<string>();
  const addWord = (word: string) => {
    keys.add(word);
    const letters = Array.from(word);
    for (let n = 1; n <= Math.min(SHORT_PREFIXES, letters.length - 1); n++) keys.add(letters.slice(0, n).join(''));
  };
  const texts = [entry.display_name, ...(entry.common_names ?? []), entry.given_name, entry.surname, entry.department, entry.office];
  for (const text of texts) if (text) for (const word of words(foldName(text))) addWord(word);
  for (const address of [entry.email, ...entry.aliases]) {
    if (!address) continue;
    const folded = foldName(address);
    addWord(folded);
    for (const word of words(folded.split('@')[0]!)) addWord(word);
  }
  return [...keys];
}

/** How a typed word is looked up among the keys: short words are stored whole as prefixes. */
export function anrWordCondition(word: string): { equals: string } | { prefix: string } {
  return Array.from(word).length <= SHORT_PREFIXES ? { equals: word } : { prefix: word };
}

/** Entries refreshed per round trip. */
const BATCH = 2_000;

/** An entry as its terms are written: the term sources and what the key rows copy. */
export type TermEntry = TermSource & Pick<DirectoryEntryRow, 'domain_id' | 'visible' | 'kind'>;

/** What term rows copy from the entry besides the term columns. */
export const TERM_ENTRY_COLUMNS = ['id', 'domain_id', 'visible', 'kind', ...TERM_COLUMNS] as const;

/**
 * Writes the terms of entries that have none yet (new entries, or entries
 * whose terms were just deleted): two INSERTs whatever the number of
 * entries, nothing read back from directory_entries. The rows travel as one
 * JSON text per statement, each entry's values once: serialising a dozen
 * parallel arrays of ~25 values per entry cost the import more than
 * computing the terms.
 */
export async function writeSearchTerms(db: Db, entries: readonly TermEntry[]): Promise<void> {
  const match: Array<{ i: string; d: string; a: string; v: string; x: string }> = [];
  const anr: Array<{ i: string; d: string; v: boolean; k: string; n: string; w: string[] }> = [];
  for (const entry of entries) {
    // text[] travels as an array literal (text, cast in SQL): JSON has no text[] to turn into.
    for (const v of matchValues(entry)) match.push({ i: entry.id, d: entry.domain_id, a: v.attr, v: v.value, x: arrayLiteral(v.approx) });
    anr.push({ i: entry.id, d: entry.domain_id, v: entry.visible, k: entry.kind, n: entry.display_name, w: anrKeys(entry) });
  }
  if (match.length > 0) {
    await sql`
      insert into directory_match_values (entry_id, domain_id, attr, value, approx)
      select i, d, a, v, x::text[] from json_to_recordset(${JSON.stringify(match)}::json) as r(i uuid, d uuid, a text, v text, x text)`.execute(db);
  }
  if (anr.length > 0) {
    // sort_name is lower() in SQL, as the browse order and the search cursor compute it.
    await sql`
      insert into directory_anr_keys (entry_id, domain_id, visible, kind, key, sort_name)
      select r.i, r.d, r.v, r.k, w.key, lower(r.n)
      from json_to_recordset(${JSON.stringify(anr)}::json) as r(i uuid, d uuid, v boolean, k text, n text, w json)
      cross join json_array_elements_text(r.w) as w(key)`.execute(db);
  }
}

/**
 * Recomputes the terms of these entries (tombstones and vanished ids lose
 * theirs). Call inside the transaction that changed them, once for all the
 * entries it changed.
 */
export async function refreshSearchTerms(db: Db, ids: readonly string[]): Promise<void> {
  const unique = [...new Set(ids)];
  for (let start = 0; start < unique.length; start += BATCH) {
    const chunk = unique.slice(start, start + BATCH);
    await sql`delete from directory_match_values where entry_id = any(${chunk}::uuid[])`.execute(db);
    await sql`delete from directory_anr_keys where entry_id = any(${chunk}::uuid[])`.execute(db);
    const rows = await db
      .selectFrom('directory_entries as e')
      .select(TERM_ENTRY_COLUMNS.map((c) => `e.${c}` as const))
      .select(sql<string[]>`array(select a.alias from directory_aliases a where a.entry_id = e.id order by a.alias)`.as('aliases'))
      .where('e.id', '=', sql<string>`any(${chunk}::uuid[])`)
      .where('e.deleted', '=', false)
      .execute();
    await writeSearchTerms(db, rows);
    await sql`update directory_entries set terms_version = ${TERMS_VERSION} where id = any(${chunk}::uuid[]) and terms_version is distinct from ${TERMS_VERSION}`.execute(db);
  }
}

/** Brings every entry whose terms are missing or older than TERMS_VERSION up to date; returns how many. */
export async function refreshStaleSearchTerms(db: Db): Promise<number> {
  let total = 0;
  for (;;) {
    const stale = await db
      .selectFrom('directory_entries')
      .select('id')
      .where('deleted', '=', false)
      .where((eb) => eb.or([eb('terms_version', 'is', null), eb('terms_version', '<>', TERMS_VERSION)]))
      .limit(BATCH)
      .execute();
    if (stale.length === 0) return total;
    await db.transaction().execute(async (trx) => {
      // Nodes starting together would otherwise compute the same entries twice.
      await sql`select pg_advisory_xact_lock(hashtext('dmci:directory-search-terms'))`.execute(trx);
      await refreshSearchTerms(trx, stale.map((r) => r.id));
    });
    total += stale.length;
  }
}

/** A PostgreSQL array literal of text values. */
function arrayLiteral(values: readonly string[]): string {
  return `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
}
