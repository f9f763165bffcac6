import { ErrorCode, Methods, type MethodName, type MethodArgs } from '../../protocol/index.ts';
import { requireDomainAdminOf } from '../accounts/actor.ts';
import { DmciError } from '../errors.ts';
import type { Logger } from '../log/logger.ts';
import type { Services } from '../services.ts';
import type { ConsoleActor } from './console-sessions.ts';
import type { Html } from './html.ts';
import type { NodeReporter } from './node-report.ts';

/** What every console page and action works with. */
export interface ConsoleContext {
  services: Services;
  reporter: NodeReporter;
  log: Logger;
}

export interface Request {
  actor: ConsoleActor;
  csrf: string;
  /** The page's own path and query, for forms to come back to. */
  here: string;
  query: URLSearchParams;
  address: string;
}

export interface Page {
  title: string;
  section: string;
  body: Html;
  scripts?: readonly string[];
  styles?: readonly string[];
}

/** An action's outcome, shown once on the page it comes back to. */
export interface Done {
  message: string;
  back?: string;
}

export interface Routes {
  pages: Record<string, (ctx: ConsoleContext, req: Request) => Promise<Page>>;
  actions: Record<string, (ctx: ConsoleContext, req: Request, form: URLSearchParams) => Promise<Done>>;
}

/**
 * Validates console input with the protocol's own argument schemas, so a
 * form accepts exactly what the Admin methods accept (one definition).
 */
export function parseArgs<M extends MethodName>(method: M, input: unknown): MethodArgs<M> {
  const parsed = Methods[method].args.safeParse(input);
  if (!parsed.success) {
    throw new DmciError(ErrorCode.INVALID_ARGUMENTS, parsed.error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; '));
  }
  return parsed.data as MethodArgs<M>;
}

/** A required form field, trimmed, at most `max` characters. */
export function field(form: URLSearchParams, name: string, max = 320): string {
  const value = form.get(name)?.trim();
  if (!value) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${name} is required`);
  if (value.length > max) throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `${name} is at most ${max} characters`);
  return value;
}

/** Whether the actor may manage objects of a domain: the same rule the admin services apply (accounts/actor.ts). */
export function managesDomain(actor: ConsoleActor, domainId: string): boolean {
  try {
    requireDomainAdminOf(actor, domainId, 'domain');
    return true;
  } catch {
    return false;
  }
}
