/**
 * LDAP result codes (RFC 4511 §4.1.9, appendix A) that dmci answers with,
 * and the one error class the LDAP door throws. ldap-server.ts turns an
 * LdapError into a result message; anything else becomes `other` (80) and is
 * logged, so an internal failure never reaches a client as a stack trace.
 */
export const ResultCode = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  authMethodNotSupported: 7,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  noSuchObject: 32,
  invalidDNSyntax: 34,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  other: 80,
} as const;
export type ResultCode = (typeof ResultCode)[keyof typeof ResultCode];

export class LdapError extends Error {
  override readonly name = 'LdapError';

  constructor(
    readonly code: ResultCode,
    message: string,
    /** RFC 4511 §4.1.9: for noSuchObject, the longest existing ancestor of the DN asked for. */
    readonly matchedDN = '',
  ) {
    super(message);
  }
}

export function resultCodeName(code: number): string {
  for (const [name, value] of Object.entries(ResultCode)) if (value === code) return name;
  return String(code);
}
