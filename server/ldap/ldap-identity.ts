import type { Role } from '../../protocol/index.ts';

/** Who a connection is bound as. A connection with no identity is anonymous. */
export interface LdapIdentity {
  accountId: string;
  email: string;
  role: Role;
  domainId: string;
  domain: string;
  /** The account's password_changed_at at bind time: a later change ends the binding (as it revokes resume tokens). */
  passwordChangedAt: Date;
}

/** Global admins read every domain's GAL; everyone else only their own. */
export function mayReadDomain(identity: LdapIdentity, domain: string): boolean {
  return identity.role === 'global_admin' || identity.domain === domain;
}
