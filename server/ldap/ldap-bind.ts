import type { AccountService } from '../accounts/account.service.ts';
import type { Logger } from '../log/logger.ts';
import type { LoginGuard } from '../security/login-guard.ts';
import { locateDn, parseDn } from './ldap-dn.ts';
import type { LdapIdentity } from './ldap-identity.ts';
import { LdapError, ResultCode } from './ldap-result.ts';

export interface LdapBinderDeps {
  accounts: AccountService;
  loginGuard: LoginGuard;
  log: Logger;
}

/**
 * Simple binds (RFC 4513 §5.1). The bind name is an entry DN
 * (`mail=alice@example.com,ou=gal,dc=example,dc=com`), a bare address
 * (`alice@example.com`) or `uid=`/`userPrincipalName=` holding one; the
 * password is checked by AccountService (argon2id, a dummy hash for unknown
 * logins), through the same login guard as the WebSocket door: one bind in
 * flight per address and per login name (a pipelined or parallel second one
 * is answered busy), a delay that doubles per failure, dynamic blocking of an
 * address.
 */
export class LdapBinder {
  constructor(private readonly deps: LdapBinderDeps) {}

  /** Resolves to the identity, or undefined for an allowed anonymous bind; throws LdapError otherwise. */
  async bind(name: string, password: string, address: string, signal?: AbortSignal): Promise<LdapIdentity | undefined> {
    const { loginGuard, accounts, log } = this.deps;
    // Anonymous binds always succeed, as on Active Directory and OpenLDAP: address books bind
    // anonymously to read the root DSE. What an anonymous client may search is LdapSearch's
    // decision (only the root DSE and the subschema unless DMCI_LDAP_ALLOW_ANONYMOUS).
    if (name.trim() === '' && password === '') return undefined;
    if (password === '') {
      // RFC 4513 §5.1.2: a name with an empty password is an "unauthenticated" bind, a classic way to slip past naive checks.
      throw new LdapError(ResultCode.unwillingToPerform, 'unauthenticated bind (a name without a password) is not allowed');
    }
    if (loginGuard.blockedFor(address) > 0) throw blockedError();
    const login = loginOf(name);
    if (!login) {
      await sleep(loginGuard.recordFailure(address));
      log.warn({ remoteAddress: address, login: name.slice(0, 256), reason: 'bad_bind_name' }, 'LDAP bind failed');
      throw new LdapError(ResultCode.invalidCredentials, 'wrong bind name or password');
    }
    const outcome = await accounts.authenticate(login, password, { address, signal });
    if (!outcome.ok) {
      if (outcome.reason === 'refused') {
        if (outcome.refused === 'blocked') throw blockedError();
        if (outcome.refused === 'busy') throw new LdapError(ResultCode.busy, `another bind from this address or for this login is being checked; retry in ${Math.ceil(outcome.retryAfterMs / 1000)} s`);
        throw new LdapError(ResultCode.unavailable, 'too many password checks at once; try again later');
      }
      log.warn({ remoteAddress: address, login, reason: outcome.reason }, 'LDAP bind failed');
      throw new LdapError(ResultCode.invalidCredentials, outcome.reason === 'disabled' ? 'this account is disabled' : 'wrong bind name or password');
    }
    const account = outcome.account;
    return {
      accountId: account.id,
      email: account.email,
      role: account.role,
      domainId: account.domain_id,
      domain: account.domain_name,
      passwordChangedAt: account.password_changed_at,
    };
  }
}

/**
 * The account login a bind name stands for, or undefined. A DN below a GAL
 * base must name the entry in that base's own domain.
 */
export function loginOf(name: string): string | undefined {
  let rdns;
  try {
    rdns = parseDn(name);
  } catch {
    return undefined;
  }
  const location = locateDn(rdns);
  if (location.kind === 'entry') {
    if (location.by !== 'mail' || !location.value.endsWith(`@${location.domain}`)) return undefined;
    return location.value;
  }
  if (rdns.length !== 1 || rdns[0]!.length !== 1) return undefined;
  const { type, value } = rdns[0]![0]!;
  if (!['mail', 'uid', 'userprincipalname', 'email'].includes(type) || !/^[^@\s]+@[^@\s]+$/.test(value)) return undefined;
  return value.toLowerCase();
}

function blockedError(): LdapError {
  return new LdapError(ResultCode.unwillingToPerform, 'too many failed logins from this address; try again later');
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
