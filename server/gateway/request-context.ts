import type { Encoded, MethodArgs, MethodName, MethodResult } from '../../protocol/index.ts';
import type { Actor } from '../accounts/actor.ts';
import type { Logger } from '../log/logger.ts';
import type { Session } from '../sessions/session.ts';

/** What a method handler knows about the request it serves. */
export interface RequestContext {
  readonly session: Session;
  readonly actor: Actor;
  readonly log: Logger;
}

/** A handler answers with its result, or with the result encoded already (a cached page sent as it is). */
export type Handler<M extends MethodName> = (args: MethodArgs<M>, ctx: RequestContext) => Promise<MethodResult<M> | Encoded<MethodResult<M>>>;

/** One handler per protocol method: a method without a handler does not compile. */
export type HandlerTable = { [M in MethodName]: Handler<M> };
