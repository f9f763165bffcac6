import { unpackFreeBusyAnswer } from './busy-periods.ts';
import { unpackChangesPage } from './entry-columns.ts';
import type { DirectoryChangesWire } from './methods/directory.ts';
import type { FreeBusyAnswerWire } from './methods/freebusy.ts';
import type { MethodName, MethodResult } from './methods/index.ts';

/**
 * Results whose wire form is packed for size and speed, and how a client
 * library turns them back into the plain shape its callers use. Every other
 * result is used as sent: the GAL's sync pages (entries by column) and
 * free/busy answers (busy periods as offsets).
 */
const unpackers = {
  'Directory/changes': (result: MethodResult<'Directory/changes'>) => unpackChangesPage(result),
  'FreeBusy/query': (result: MethodResult<'FreeBusy/query'>) => unpackFreeBusyAnswer(result),
  'FreeBusy/watch': (result: MethodResult<'FreeBusy/watch'>) => unpackFreeBusyAnswer(result),
} as const;

/** A method's result as a client library hands it to its callers. */
export type DecodedResult<M extends MethodName> = M extends keyof typeof unpackers ? ReturnType<(typeof unpackers)[M]> : MethodResult<M>;

/** The result of `method` as received → as callers use it. Throws FrameDecodeError for a malformed packed result. */
export function decodeResult<M extends MethodName>(method: M, result: MethodResult<M>): DecodedResult<M> {
  const unpack = (unpackers as Partial<Record<MethodName, (result: never) => unknown>>)[method];
  return (unpack ? unpack(result as never) : result) as DecodedResult<M>;
}

/**
 * A push's `changes` → as callers use it: a GAL scope's (`gal:<domainId>`)
 * carry a Directory/changes page, a free/busy watch's (`freebusy:<id>`) the
 * changed principals as a FreeBusy/query answer does.
 */
export function decodePushChanges(scope: string, changes: unknown): unknown {
  if (changes === undefined) return changes;
  if (scope.startsWith('gal:')) return unpackChangesPage(changes as DirectoryChangesWire);
  if (scope.startsWith('freebusy:')) return unpackFreeBusyAnswer(changes as FreeBusyAnswerWire);
  return changes;
}
