import { caseFold, PRINTABLE_ASCII } from './string-prep.ts';

/**
 * The folding people's typing needs (docs/decisions.md, "Directory search
 * folding"): `Directory/query` and `Directory/resolve` find "Václav" from
 * "vac", "Vác" or "VAC", and LDAP approximate match (~=) tolerates the
 * spellings people mix up. LDAP equality and substrings do NOT use this:
 * they follow RFC 4518 exactly (string-prep.ts), as OpenLDAP does.
 *
 * fold: NFKD, case folding, then the diacritics of Latin, Greek, Cyrillic,
 * Hebrew and Arabic dropped (combining marks in those blocks, and the few
 * letters that carry a stroke instead of a combining mark: ł ø đ ħ ı), NFKC.
 * Marks that are letters' vowels in other scripts (Devanagari, Thai…) and
 * the kana voicing marks stay: dropping them would change the name.
 */
// eslint-disable-next-line no-misleading-character-class -- a list of combining marks, on purpose
const DIACRITICS = /[\u0300-\u036F\u1AB0-\u1AFF\u1DC0-\u1DFF\u20D0-\u20FF\uFE20-\uFE2F\u0591-\u05C7\u0610-\u061A\u064B-\u065F\u0670]/g;
const STROKED: Record<string, string> = { ł: 'l', ø: 'o', đ: 'd', ħ: 'h', ı: 'i', ŧ: 't', ƀ: 'b', ɨ: 'i', æ: 'ae', œ: 'oe', þ: 'th', ð: 'd' };
const STROKED_RE = new RegExp(`[${Object.keys(STROKED).join('')}]`, 'g');

export function foldName(text: string): string {
  // Printable ASCII has no diacritics, strokes or compatibility forms: folding is lower-casing.
  if (PRINTABLE_ASCII.test(text)) return text.toLowerCase();
  return caseFold(text.normalize('NFKD'))
    .replace(DIACRITICS, '')
    .replace(STROKED_RE, (c) => STROKED[c]!)
    .normalize('NFKC');
}

/** Words of folded text: runs of letters, digits and marks (marks are parts of letters in many scripts). */
export function words(folded: string): string[] {
  return folded.split(/[^\p{L}\p{N}\p{M}]+/u).filter(Boolean);
}

/**
 * The typed words of a search string, folded: whitespace-separated parts
 * that contain "@" stay whole (an address being typed), others split into
 * words as names are ("O'Brien" → o, brien; "Fourier, Lena" → fourier, lena).
 */
export function queryWords(text: string): string[] {
  return foldName(text)
    .split(/\s+/)
    .filter(Boolean)
    .flatMap((part) => (part.includes('@') ? [part] : words(part)));
}

/**
 * Approximate-match keys, one per word: a phonetic code for words in Latin
 * letters (below), the folded word itself for any other script. An approx
 * assertion matches a value when every one of its keys is among the value's
 * keys, in any order ("Smyth Jon" ~= "John Smith").
 */
export function approxKeys(text: string): string[] {
  return [...new Set(words(foldName(text)).map(phoneticKey))];
}

const CODES: Record<string, string> = {
  b: '1', f: '1', p: '1', v: '1', w: '1',
  c: '2', g: '2', j: '2', k: '2', q: '2', s: '2', x: '2', z: '2',
  d: '3', t: '3',
  l: '4',
  m: '5', n: '5',
  r: '6',
};

/**
 * A Soundex variant for names: the first letter is coded like the others
 * (so C/K, S/Z, F/PH/V/W and all initial vowels agree: Catherine ~ Katherine,
 * Philipp ~ Filip, Ellen ~ Allen), PH counts as F, letters with the same code
 * next to each other (or across an H or W) count once, vowels separate
 * repeats, and the code keeps up to four digits after the first sign.
 * Digits stand for themselves.
 */
export function phoneticKey(word: string): string {
  if (!/^[a-z0-9]+$/.test(word)) return word;
  if (/^[0-9]+$/.test(word)) return word;
  const letters = word.replace(/ph/g, 'f');
  let key = '';
  let previous = '';
  for (let i = 0; i < letters.length; i++) {
    const c = letters[i]!;
    const code = CODES[c];
    if (code === undefined) {
      // Vowels (and y) separate repeats; h and w do not.
      if (c !== 'h' && c !== 'w') previous = '';
      if (i === 0) key = '0';
      continue;
    }
    if (code !== previous) key += code;
    previous = code;
    if (key.length >= 5) break;
  }
  return key;
}
