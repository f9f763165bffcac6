import { describe, expect, it } from 'vitest';
import { approxKeys, foldName, queryWords } from '../../server/directory/search/name-fold.ts';
import { anrKeys, MATCH_FIELDS } from '../../server/directory/search/search-terms.ts';
import { likeRange, prepareSubstring, prepareValue, substringsPattern } from '../../server/directory/search/string-prep.ts';
import { ATTRIBUTES } from '../../server/ldap/ldap-schema.ts';

/** The string preparation and folding the GAL's search terms are made of. */
describe('RFC 4518 string preparation', () => {
  it('maps, folds, normalises and handles insignificant spaces', () => {
    expect(prepareValue('  Václav   NOVÁK ', 'caseIgnore')).toBe('václav novák');
    expect(prepareValue('Va\u0301clav', 'caseIgnore')).toBe('václav');
    // Each code point's own lower case, as slapd folds: ß is not ss, a final ς is not σ.
    expect(prepareValue('Straße', 'caseIgnore')).not.toBe(prepareValue('STRASSE', 'caseIgnore'));
    expect(prepareValue('ΟΔΟΣ', 'caseIgnore')).toBe('οδοσ');
    expect(prepareValue('ＡＢＣ', 'caseIgnore')).toBe('abc');
    expect(prepareValue('soft\u00ADhyphen\u200B', 'caseIgnore')).toBe('softhyphen');
    expect(prepareValue('tab\there', 'caseIgnore')).toBe('tab here');
    expect(prepareValue('   ', 'caseIgnore')).toBe('');
  });

  it('refuses prohibited code points and non-IA5 text in IA5 assertions', () => {
    expect(prepareValue('private\uE000', 'caseIgnore')).toBeUndefined();
    expect(prepareValue('\uFFFD', 'caseIgnore')).toBeUndefined();
    expect(prepareValue('josé@example.com', 'caseIgnoreIA5')).toBeUndefined();
    expect(prepareValue('Bob@Example.COM', 'caseIgnoreIA5')).toBe('bob@example.com');
  });

  it('prepares substrings by position and escapes LIKE wildcards', () => {
    expect(prepareSubstring(' Lena ', 'caseIgnore', 'initial')).toBe('lena ');
    expect(prepareSubstring(' a  b', 'caseIgnore', 'any')).toBe(' a b');
    expect(prepareSubstring(' ier ', 'caseIgnore', 'final')).toBe(' ier');
    expect(prepareSubstring('  ', 'caseIgnore', 'any')).toBe(' ');
    expect(substringsPattern({ initial: '50%', any: ['a_b'], final: 'x\\' }, 'caseIgnore')).toBe('50\\%%a\\_b%x\\\\');
    expect(substringsPattern({ any: ['\uE000'] }, 'caseIgnore')).toBeUndefined();
  });

  it('removes spaces and hyphens from telephone numbers', () => {
    expect(prepareValue('+33 1-23 45', 'telephoneNumber')).toBe('+3312345');
    expect(prepareSubstring(' 23 4', 'telephoneNumber', 'any')).toBe('234');
  });
});

describe('name folding, approximate keys, ANR keys', () => {
  it('folds case and the diacritics of Latin, Greek and Cyrillic, not other scripts\' vowel signs', () => {
    expect(foldName('Václav Łukasz Ørsted ÆSIR Ελένη Ёлка')).toBe('vaclav lukasz orsted aesir ελενη елка');
    expect(foldName('हिन्दी')).toBe('हिन्दी');
    expect(foldName('ガ')).toBe('ガ');
    expect(queryWords("O'Brien, Lena ann@ex")).toEqual(['o', 'brien', 'lena', 'ann@ex']);
  });

  it('gives names that sound alike the same keys', () => {
    const same = [
      ['Smith', 'Smyth', 'Schmidt'],
      ['Catherine', 'Katherine', 'Kathryn'],
      ['Philipp', 'Filip'],
      ['Meyer', 'Maier', 'Mayer'],
      ['Müller', 'Mueller', 'Muller'],
      ['Nguyễn', 'Nguyen'],
    ];
    for (const group of same) for (const name of group) expect(approxKeys(name), name).toEqual(approxKeys(group[0]!));
    expect(approxKeys('Smith')).not.toEqual(approxKeys('Jones'));
    expect(approxKeys('Иванов')).toEqual(['иванов']);
  });

  it('stores each word and its one- and two-letter prefixes, addresses whole and by local-part words', () => {
    const keys = anrKeys({
      id: 'x', display_name: 'Lena Fourier', common_names: null, given_name: null, surname: null, email: 'l.fourier@ex.test', title: 'Boss',
      department: null, company: null, office: null, business_phone: null, mobile_phone: null, resource_type: null, location: null, aliases: [],
    });
    expect(keys.sort()).toEqual(['f', 'fo', 'fourier', 'l', 'l.', 'l.fourier@ex.test', 'le', 'lena'].sort());
  });
});

describe('schema and prepared values agree', () => {
  it('every attribute matched through prepared values uses its field\'s matching rule', () => {
    const rules = { caseIgnore: 'caseIgnoreMatch', caseIgnoreIA5: 'caseIgnoreIA5Match', telephoneNumber: 'telephoneNumberMatch' };
    for (const def of ATTRIBUTES.filter((d) => d.match)) expect(def.equality, def.name).toBe(rules[MATCH_FIELDS[def.match!].rule]);
  });
});

describe('LIKE patterns as index ranges', () => {
  it('gives the literal start as [low, high): exact for a pure prefix, a superset otherwise', () => {
    expect(likeRange('ab%')).toEqual({ low: 'ab', high: 'ac', exact: true });
    expect(likeRange('50\\%x%')).toEqual({ low: '50%x', high: '50%y', exact: true });
    expect(likeRange('ab%cd%')).toEqual({ low: 'ab', high: 'ac', exact: false });
    expect(likeRange('a_%')).toEqual({ low: 'a', high: 'b', exact: false });
    expect(likeRange('%ab%')).toBeUndefined();
    expect(likeRange('v\u00e1%')).toEqual({ low: 'v\u00e1', high: 'v\u00e2', exact: true });
    // Past the last code point of a plane, across the surrogates, and nothing after U+10FFFF alone.
    expect(likeRange('a\u{10FFFF}%')).toEqual({ low: 'a\u{10FFFF}', high: 'b', exact: true });
    expect(likeRange('\uD7FF%')!.high).toBe('\uE000');
    expect(likeRange('\u{1F600}%')!.high).toBe('\u{1F601}');
    expect(likeRange('\u{10FFFF}%')).toBeUndefined();
  });

  it('holds exactly the strings that start with the prefix, in code point (UTF-8 byte) order', () => {
    const alphabet = ['a', 'b', 'z', '\u00e1', '\uD7FF', '\uE000', '\uFFFF', '\u{10000}', '\u{10FFFF}'];
    const bytes = (text: string) => Buffer.from(text, 'utf8');
    const strings: string[] = [''];
    for (let length = 1; length <= 3; length++) for (const base of strings.filter((t) => [...t].length === length - 1)) for (const c of alphabet) strings.push(base + c);
    for (const prefix of strings.filter((t) => t !== '')) {
      const range = likeRange(`${prefix}%`);
      if (!range) {
        expect([...prefix].every((c) => c === '\u{10FFFF}')).toBe(true);
        continue;
      }
      for (const value of strings) {
        const inRange = Buffer.compare(bytes(value), bytes(range.low)) >= 0 && Buffer.compare(bytes(value), bytes(range.high)) < 0;
        expect(inRange, `${JSON.stringify(value)} in the range of ${JSON.stringify(prefix)}`).toBe(value.startsWith(prefix));
      }
    }
  });
});
