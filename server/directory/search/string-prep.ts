/**
 * LDAP string preparation (RFC 4518) for the matching rules the GAL's
 * attributes use: caseIgnoreMatch / caseIgnoreSubstringsMatch,
 * caseIgnoreIA5Match / caseIgnoreIA5SubstringsMatch and
 * telephoneNumberMatch / telephoneNumberSubstringsMatch.
 *
 * Stored values and assertion values go through the same steps, in JS, so
 * the database only ever compares prepared strings byte for byte (it does
 * not depend on the database's locale or Unicode tables):
 * Map (control and formatting characters to nothing, separators to SPACE,
 * case folding), NFKC, Prohibit (unassigned, private-use, surrogate code
 * points and U+FFFD make the assertion Undefined), then insignificant
 * space handling or, for telephone numbers, removal of spaces and hyphens
 * (§2.6.3). Two details follow OpenLDAP rather than the letter of RFC 4518,
 * so that dmci and slapd answer alike (docs/ldap.md, "Matching"): case
 * folding is each code point's lower-case mapping, and spaces are handled
 * as slapd does (values trimmed with single inner spaces; a substring
 * part's edge space matches a space inside the value, not its end).
 */
export type MatchRule = 'caseIgnore' | 'caseIgnoreIA5' | 'telephoneNumber';
export type SubstringPosition = 'initial' | 'any' | 'final';

// RFC 4518 §2.2: mapped to nothing (soft hyphens, joiners, variation selectors, controls, format characters).
const MAP_TO_NOTHING =
  // eslint-disable-next-line no-control-regex, no-misleading-character-class -- RFC 4518 lists code points, combining ones included
  /[\u00AD\u1806\u034F\u180B-\u180D\uFE00-\uFE0F\uFFFC\u200B\u0000-\u0008\u000E-\u001F\u007F-\u0084\u0086-\u009F\u06DD\u070F\u180E\u200C-\u200F\u202A-\u202E\u2060-\u2063\u206A-\u206F\uFEFF\uFFF9-\uFFFB\u{1D173}-\u{1D17A}\u{E0001}\u{E0020}-\u{E007F}]/gu;
// RFC 4518 §2.2: tab, line ends and every other separator become SPACE.
const MAP_TO_SPACE = /[\t\n\v\f\r\u0085\p{Zs}\p{Zl}\p{Zp}]/gu;
// RFC 4518 §2.4: unassigned, private use, surrogates, U+FFFD.
const PROHIBITED = /[\p{Cn}\p{Co}\p{Cs}\uFFFD]/u;
// A run of SPACEs not followed by a combining mark (a SPACE before a mark is a base character, §2.6.1).
const SPACES = / +(?!\p{M})/u;
const HYPHENS_AND_SPACES = /[ \u002D\u058A\u2010\u2011\u2212\uFE63\uFF0D]/gu;

/**
 * Full case folding (Unicode CaseFolding C+F, which RFC 4518's table B.2
 * builds on): upper-casing then lower-casing turns ß into ss, ſ into s and
 * every sigma into σ, which lower-casing alone does not.
 */
export function caseFold(text: string): string {
  return text.toUpperCase().toLowerCase().replace(/ς/g, 'σ');
}

/**
 * The case folding of LDAP matching: each code point's own lower-case
 * mapping, with no context (as OpenLDAP folds: ß stays ß, a final ς stays
 * ς), so dmci and slapd agree on which names are equal.
 */
function lowerEach(text: string): string {
  let out = '';
  for (const c of text) out += c.toLowerCase();
  return out;
}

/** Printable ASCII: every step below but lower-casing leaves it as it is (most names and every address). */
export const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Map, normalise and check one string; undefined when it holds a prohibited code point. */
function mapAndNormalize(text: string, fold: boolean): string | undefined {
  // Imports prepare a dozen values per entry: skip the Unicode passes where they change nothing.
  if (PRINTABLE_ASCII.test(text)) return fold ? text.toLowerCase() : text;
  let s = text.replace(MAP_TO_NOTHING, '').replace(MAP_TO_SPACE, ' ');
  // Folding twice around NFKC: compatibility forms can decompose into capitals (㎒ → MHz).
  if (fold) s = lowerEach(lowerEach(s).normalize('NFKC'));
  s = s.normalize('NFKC');
  return PROHIBITED.test(s) ? undefined : s;
}

function words(text: string): string[] {
  // Without a combining mark every run of SPACEs separates words: a plain split (ANR prefixes, addresses).
  return (PRINTABLE_ASCII.test(text) ? text.split(' ') : text.split(SPACES)).filter((w) => w !== '');
}

/**
 * The prepared form of an attribute value or of an equality / approx
 * assertion value; undefined when the string cannot be prepared (then an
 * assertion is Undefined, RFC 4511 §4.5.1.7).
 */
export function prepareValue(value: string, rule: MatchRule): string | undefined {
  if (!validFor(value, rule)) return undefined;
  const s = mapAndNormalize(value, true);
  if (s === undefined) return undefined;
  if (rule === 'telephoneNumber') return s.replace(HYPHENS_AND_SPACES, '');
  // Insignificant spaces as OpenLDAP handles them: trimmed, and each inner run made one SPACE.
  return words(s).join(' ');
}

/** An assertion value the attribute's syntax allows (RFC 4517): IA5 is ASCII; a telephone number is a PrintableString. */
function validFor(value: string, rule: MatchRule): boolean {
  if (rule === 'caseIgnoreIA5') return isIA5(value);
  if (rule === 'telephoneNumber') return /^[A-Za-z0-9 '()+,\-./:?=]*$/.test(value);
  return true;
}

/** The prepared form of one part of a substrings assertion (RFC 4518 §2.6.1, substring rules). */
export function prepareSubstring(value: string, rule: MatchRule, position: SubstringPosition): string | undefined {
  if (!validFor(value, rule)) return undefined;
  const s = mapAndNormalize(value, true);
  if (s === undefined) return undefined;
  if (rule === 'telephoneNumber') return s.replace(HYPHENS_AND_SPACES, '');
  const list = words(s);
  // OpenLDAP trims IA5 substring parts at both ends.
  if (rule === 'caseIgnoreIA5') return list.join(' ');
  if (list.length === 0) return position === 'any' ? ' ' : '';
  // An edge run of spaces stays one SPACE where it marks a word boundary inside the value (after an
  // initial, around an any, before a final), as OpenLDAP keeps it; at the value's own ends it is trimmed.
  let out = list.join(' ');
  if (position !== 'initial' && /^ +(?!\p{M})/u.test(s)) out = ` ${out}`;
  if (position !== 'final' && / +$/.test(s)) out = `${out} `;
  return out;
}

/**
 * A LIKE pattern for a prepared substrings assertion; undefined when a part
 * cannot be prepared (Undefined), null when a part prepares to nothing
 * (a telephone number part of only spaces and hyphens), which OpenLDAP
 * matches with no value (FALSE).
 */
export function substringsPattern(node: { initial?: string; any: string[]; final?: string }, rule: MatchRule): string | null | undefined {
  const parts = substringsParts(node, rule);
  if (!parts) return parts;
  return `${escapeLike(parts.initial)}%${parts.any.map((part) => `${escapeLike(part)}%`).join('')}${escapeLike(parts.final)}`;
}

/** A substrings assertion's prepared parts (the literal pieces of substringsPattern's LIKE), with the same undefined and null. */
export function substringsParts(node: { initial?: string; any: string[]; final?: string }, rule: MatchRule): { initial: string; any: string[]; final: string } | null | undefined {
  const initial = node.initial ? prepareSubstring(node.initial, rule, 'initial') : '';
  const final = node.final ? prepareSubstring(node.final, rule, 'final') : '';
  const any = node.any.map((part) => prepareSubstring(part, rule, 'any'));
  if (initial === undefined || final === undefined || any.some((part) => part === undefined)) return undefined;
  const given = [node.initial, ...node.any, node.final];
  if (rule === 'telephoneNumber' && [initial, ...any, final].some((part, n) => part === '' && given[n])) return null;
  return { initial, any: any as string[], final };
}

/**
 * A LIKE pattern's literal start as a half-open range of strings `[low, high)`
 * in code point order (which is UTF-8 byte order, text_pattern_ops' order):
 * every value the pattern matches lies in it, and for a pure prefix pattern
 * (`ab%`) it is exactly the matches. A range bound is what an index scan
 * needs and, unlike `like $1`, stays usable in a prepared statement's generic
 * plan. Undefined when the pattern starts with a wildcard, or its start has
 * no successor (only U+10FFFF).
 */
export function likeRange(pattern: string): { low: string; high: string; exact: boolean } | undefined {
  let low = '';
  let at = 0;
  while (at < pattern.length) {
    const c = pattern[at]!;
    if (c === '%' || c === '_') break;
    if (c === '\\') at++;
    const point = pattern.codePointAt(at)!;
    low += String.fromCodePoint(point);
    at += point > 0xffff ? 2 : 1;
  }
  const high = successor(low);
  if (low === '' || high === undefined) return undefined;
  return { low, high, exact: pattern.slice(at) === '%' };
}

/** The least string greater than every string that starts with `text`: its last code point below U+10FFFF, plus one (skipping surrogates). */
function successor(text: string): string | undefined {
  const points = [...text].map((c) => c.codePointAt(0)!);
  while (points.length > 0 && points[points.length - 1] === 0x10ffff) points.pop();
  if (points.length === 0) return undefined;
  const last = points.pop()!;
  points.push(last === 0xd7ff ? 0xe000 : last + 1);
  return String.fromCodePoint(...points);
}

/** Escapes LIKE wildcards so prepared text matches literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

function isIA5(text: string): boolean {
  // eslint-disable-next-line no-control-regex -- IA5 is exactly U+0000..U+007F
  return /^[\x00-\x7f]*$/.test(text);
}
