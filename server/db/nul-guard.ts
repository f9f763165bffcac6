import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import { ErrorCode } from '../../protocol/index.ts';
import { DmciError } from '../errors.ts';

/**
 * PostgreSQL `text` cannot hold U+0000: a string carrying it makes the
 * statement fail (22021), which surfaced as INTERNAL with an error log line
 * on every door that stores or looks up text (protocol, LDAP, imports, CLI).
 * This plugin, installed on every Kysely the server builds (createDatabase),
 * checks each statement's parameters before it is sent and refuses the
 * request with INVALID_ARGUMENTS instead: one check, every door.
 *
 * The operation tree is walked generically: values, value lists, raw `sql`
 * parameters and nested arrays or objects (jsonb) are all reached. Byte
 * strings (bytea) may hold zeros and are skipped.
 */
export class NulGuardPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    if (holdsNul(args.node)) throw nulError();
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return args.result;
  }
}

export function nulError(): DmciError {
  return new DmciError(ErrorCode.INVALID_ARGUMENTS, 'text must not contain NUL (U+0000) characters', { details: { reason: 'nul' } });
}

export function holdsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\0');
  if (typeof value !== 'object' || value === null || value instanceof Date || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some(holdsNul);
  for (const key in value) if (holdsNul((value as Record<string, unknown>)[key])) return true;
  return false;
}
