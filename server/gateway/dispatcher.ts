import type { z } from 'zod';
import type { Actor } from '../accounts/actor.ts';
import { ErrorCode, isMethodName, Methods, type ErrorBody, type MethodName } from '../../protocol/index.ts';
import { DmciError, toDmciError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import type { HandlerTable, RequestContext } from './request-context.ts';

export type DispatchOutcome = { ok: true; result: unknown } | { ok: false; error: ErrorBody };

/**
 * Runs one request: looks the method up, validates its arguments against the
 * protocol schema, calls the handler, and turns every failure into an error
 * body. It never throws. Client faults are logged at warn, internal ones at
 * error with the cause; the client sees only the stable code and a message.
 */
export class Dispatcher {
  constructor(
    private readonly handlers: HandlerTable,
    private readonly metrics: Metrics,
    /** Re-reads the actor's powers before each request (AccountService.currentActor): a session's cached role is never trusted for a privileged request. */
    private readonly currentActor: (actor: Actor) => Promise<Actor>,
  ) {}

  async dispatch(method: string, rawArgs: unknown, ctx: RequestContext): Promise<DispatchOutcome> {
    const started = performance.now();
    const label = isMethodName(method) ? method : 'unknown';
    let outcome: DispatchOutcome;
    try {
      const actor = await this.currentActor(ctx.actor);
      outcome = { ok: true, result: await this.run(method, rawArgs ?? {}, actor === ctx.actor ? ctx : { ...ctx, actor }) };
    } catch (thrown) {
      const error = toDmciError(thrown);
      if (error.code === ErrorCode.INTERNAL) ctx.log.error({ err: error.cause ?? error, method }, 'request failed');
      // A refusal the server caused (a saturated database) keeps its cause for ops.
      else ctx.log.warn({ method, code: error.code, message: error.message, ...(error.cause !== undefined ? { err: error.cause } : {}) }, 'request refused');
      outcome = { ok: false, error: error.toBody() };
    }
    this.metrics.requests.inc({ method: label, outcome: outcome.ok ? 'ok' : outcome.error.code });
    this.metrics.requestDuration.observe({ method: label }, (performance.now() - started) / 1000);
    return outcome;
  }

  private async run(method: string, rawArgs: unknown, ctx: RequestContext): Promise<unknown> {
    if (!isMethodName(method)) throw new DmciError(ErrorCode.UNKNOWN_METHOD, `unknown method ${JSON.stringify(method.slice(0, 64))}`);
    const parsed = (Methods[method].args as z.ZodType).safeParse(rawArgs);
    if (!parsed.success) {
      throw new DmciError(ErrorCode.INVALID_ARGUMENTS, `invalid arguments for ${method}`, {
        details: parsed.error.issues.slice(0, 20).map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message })),
      });
    }
    const handler = this.handlers[method] as (args: unknown, ctx: RequestContext) => Promise<unknown>;
    return handler(parsed.data, ctx);
  }

  static methodLabel(method: string): MethodName | 'unknown' {
    return isMethodName(method) ? method : 'unknown';
  }
}
