import type { Command } from 'commander';
import { DmciRequestError } from '../client.ts';
import { UsageError, type CommandFamily } from './context.ts';

/** `dmci-sim login` and `dmci-sim call`: one session, one thing. */
export const sessionCommands: CommandFamily = (program: Command, ctx) => {
  program
    .command('login')
    .description('connect, authenticate and print the welcome summary')
    .action(async () => {
      const client = await ctx.connect();
      try {
        const w = client.welcome!;
        const summary = {
          url: ctx.globals().url,
          sessionId: w.sessionId,
          version: w.version,
          account: w.account,
          heartbeatMs: w.heartbeatMs,
          capabilities: w.capabilities,
          limits: w.limits,
          resumeTokenExpiresAt: w.resumeTokenExpiresAt,
          connectMs: round(client.timings?.connectMs),
          authMs: round(client.timings?.authMs),
        };
        ctx.print(
          summary,
          [
            `logged in as ${w.account.email} (${w.account.displayName}, ${w.account.role}, domain ${w.account.domain})`,
            `session      ${w.sessionId}, protocol version ${w.version}`,
            `capabilities ${w.capabilities.join(', ')}`,
            `heartbeat    ${w.heartbeatMs} ms`,
            `limits       ${Object.entries(w.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`,
            `resume token expires ${w.resumeTokenExpiresAt}`,
            `connect ${summary.connectMs} ms, auth ${summary.authMs} ms`,
          ].join('\n'),
        );
      } finally {
        await client.close();
      }
    });

  program
    .command('call')
    .description("call one method and print its result, e.g. dmci-sim call Core/echo '{\"payload\":1}'")
    .argument('<method>', 'method name, e.g. Session/get')
    .argument('[json-args]', 'the arguments as a JSON object', '{}')
    .option('--timeout <ms>', 'request timeout in milliseconds', '30000')
    .action(async (method: string, jsonArgs: string, options: { timeout: string }) => {
      const args = parseJsonArgs(jsonArgs);
      const timeoutMs = Number(options.timeout);
      if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new UsageError('--timeout must be a positive whole number of milliseconds');
      const client = await ctx.connect();
      try {
        const result = await client.call(method, args, { timeoutMs });
        process.stdout.write(JSON.stringify(result, null, 2) + '\n');
      } catch (error) {
        if (!(error instanceof DmciRequestError)) throw error;
        ctx.setExitCode(1);
        const body = { code: error.code, message: error.message.slice(error.code.length + 2), details: error.details, retryAfterMs: error.retryAfterMs };
        if (ctx.globals().json) process.stdout.write(JSON.stringify({ error: body }, null, 2) + '\n');
        else {
          process.stderr.write(`${body.code}: ${body.message}\n`);
          if (body.details !== undefined) process.stderr.write(JSON.stringify(body.details, null, 2) + '\n');
          if (body.retryAfterMs !== undefined) process.stderr.write(`retry after ${body.retryAfterMs} ms\n`);
        }
      } finally {
        await client.close();
      }
    });
};

function parseJsonArgs(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`JSON-ARGS is not valid JSON (${(error as Error).message}); quote it, e.g. '{"payload":1}'`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new UsageError('JSON-ARGS must be a JSON object, e.g. \'{"email":"a@example.com"}\'');
  return value as Record<string, unknown>;
}

function round(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 100) / 100;
}
