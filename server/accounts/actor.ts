import type { Role } from '../../protocol/index.ts';
import { forbidden } from '../errors.ts';

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

/** A domain admin acts only inside its own domain. */
export function requireDomainAdmin(actor: Actor, domainId: string): void {
  requireAdmin(actor);
  if (actor.kind === 'account' && actor.role === 'domain_admin' && actor.domainId !== domainId) {
    throw forbidden('a domain admin may only manage its own domain');
  }
}

/** Only a global admin may grant or hold sway over global_admin. */
export function requireMayGrant(actor: Actor, role: Role): void {
  if (role === 'global_admin') requireGlobalAdmin(actor);
}
