import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * An account's language tag as stored: the canonical BCP 47 form Intl gives
 * (`de-at` → `de-AT`), or null (not set). The wire schema (LanguageTag)
 * checks the shape; Intl checks the rest (`en-a` is shaped like a tag but is
 * none): either refusal is INVALID_ARGUMENTS.
 */
export function canonicalLanguage(tag: string | null): string | null {
  if (tag === null) return null;
  try {
    const [canonical] = Intl.getCanonicalLocales(tag);
    if (canonical && canonical.length <= 35) return canonical;
  } catch {
    // RangeError: not a well-formed tag; refused below.
  }
  throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${tag} is not a BCP 47 language tag (like de, fr-CA, es-419)`, { details: { field: 'language' } });
}
