/**
 * The words of the readable part of iMIP mail (mail-compose.ts) in each
 * language dmci writes it in, and the locale its dates are formatted with
 * (Intl). The language is the sending account's (`accounts.language`, fixed
 * on the outbox row when queued): the organizer's for what an organizer
 * sends, the answering attendee's for a REPLY or COUNTER (an outside
 * organizer's language is not known). A tag not set, not well-formed, or of
 * a language not listed here gives English.
 */

export interface MailWords {
  invitation: string;
  updatedInvitation: string;
  cancelled: string;
  counter: string;
  declineCounter: string;
  answer: string;
  answers: Record<'ACCEPTED' | 'DECLINED' | 'TENTATIVE' | 'DELEGATED', string>;
  when: string;
  where: string;
  organizer: string;
  from: string;
  noTitle: string;
}

const WORDS: Record<string, MailWords> = {
  en: {
    invitation: 'Invitation',
    updatedInvitation: 'Updated invitation',
    cancelled: 'Cancelled',
    counter: 'New time proposed',
    declineCounter: 'Proposal declined',
    answer: 'Answer',
    answers: { ACCEPTED: 'Accepted', DECLINED: 'Declined', TENTATIVE: 'Tentatively accepted', DELEGATED: 'Delegated' },
    when: 'When',
    where: 'Where',
    organizer: 'Organizer',
    from: 'From',
    noTitle: '(no title)',
  },
  de: {
    invitation: 'Einladung',
    updatedInvitation: 'Aktualisierte Einladung',
    cancelled: 'Abgesagt',
    counter: 'Neue Zeit vorgeschlagen',
    declineCounter: 'Vorschlag abgelehnt',
    answer: 'Antwort',
    answers: { ACCEPTED: 'Zugesagt', DECLINED: 'Abgelehnt', TENTATIVE: 'Mit Vorbehalt zugesagt', DELEGATED: 'Delegiert' },
    when: 'Wann',
    where: 'Wo',
    organizer: 'Organisator',
    from: 'Von',
    noTitle: '(ohne Titel)',
  },
  fr: {
    invitation: 'Invitation',
    updatedInvitation: 'Invitation mise à jour',
    cancelled: 'Annulé',
    counter: 'Nouvel horaire proposé',
    declineCounter: 'Proposition refusée',
    answer: 'Réponse',
    answers: { ACCEPTED: 'Accepté', DECLINED: 'Refusé', TENTATIVE: 'Accepté provisoirement', DELEGATED: 'Délégué' },
    when: 'Quand',
    where: 'Où',
    organizer: 'Organisateur',
    from: 'De',
    noTitle: '(sans titre)',
  },
  es: {
    invitation: 'Invitación',
    updatedInvitation: 'Invitación actualizada',
    cancelled: 'Cancelado',
    counter: 'Nueva hora propuesta',
    declineCounter: 'Propuesta rechazada',
    answer: 'Respuesta',
    answers: { ACCEPTED: 'Aceptado', DECLINED: 'Rechazado', TENTATIVE: 'Aceptado provisionalmente', DELEGATED: 'Delegado' },
    when: 'Cuándo',
    where: 'Dónde',
    organizer: 'Organizador',
    from: 'De',
    noTitle: '(sin título)',
  },
};

/** The languages mail is written in (primary subtags). */
export const MAIL_LANGUAGES = Object.keys(WORDS);

/** The words and the Intl locale for a stored language tag: English (dates as en-GB writes them) unless the tag's language is listed. */
export function mailLanguage(tag: string | null | undefined): { words: MailWords; locale: string } {
  let canonical: string | undefined;
  try {
    canonical = tag ? Intl.getCanonicalLocales(tag)[0] : undefined;
  } catch {
    canonical = undefined;
  }
  const primary = canonical?.split('-')[0]?.toLowerCase();
  const words = primary ? WORDS[primary] : undefined;
  if (!words || !canonical) return { words: WORDS.en!, locale: 'en-GB' };
  return { words, locale: primary === 'en' && canonical === 'en' ? 'en-GB' : canonical };
}
