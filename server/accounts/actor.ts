import type { Role } from '../../protocol/index.ts';
import { forbidden, notFound } from '../errors.ts';

/**
 * Who is asking. Sessions act as their account; the `dmci` CLI runs on the
 * server with database access and acts as the system, which may do anything.
 */
export type Actor =
  | { kind: 'account'; accountId: string; role: Role; domainId: string; email: string }
  | { kind: 'system'; /** Who acts as the system, for the audit log (`cli:<os user>`); unset: dmci itself. */ via?: string };

export const systemActor: Actor = { kind: 'system' };

export function requireAdmin(actor: Actor): void {
  if (actor.kind === 'system') return;
  if (actor.role === 'user') throw forbidden('this needs a domain or global admin');
}

export function requireGlobalAdmin(actor: Actor): void {
  if (actor.kind === 'system') return;
  if (actor.role !== 'global_admin') throw forbidden('this needs a global admin');
}

/**
 * An admin request naming an object (an account, a directory entry) that
 * lives in `domainId`: a domain admin asking about one in another domain
 * gets the same NOT_FOUND as for one that does not exist, so the admin
 * methods tell no domain admin which names other domains hold.
 */
export function requireDomainAdminOf(actor: Actor, domainId: string, what: string): void {
  requireAdmin(actor);
  if (actor.kind === 'account' && actor.role === 'domain_admin' && actor.domainId !== domainId) throw notFound(what);
}

/**
 * An admin request naming a domain: a domain admin gets the same FORBIDDEN
 * for another domain as for one that does not exist (a domain admin may
 * act in its own domain only, so either way the answer is "not yours").
 */
export function requireDomainNamed<D extends { id: string }>(actor: Actor, domain: D | undefined, name: string): D {
  requireAdmin(actor);
  if (actor.kind === 'account' && actor.role === 'domain_admin' && domain?.id !== actor.domainId) throw forbidden('a domain admin may only manage its own domain');
  if (!domain) throw notFound(`domain ${name}`);
  return domain;
}

/** Only a global admin may grant or hold sway over global_admin. */
export function requireMayGrant(actor: Actor, role: Role): void {
  if (role === 'global_admin') requireGlobalAdmin(actor);
}
