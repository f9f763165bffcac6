/**
 * Where a calendar worker thread loads compiled code from, if anywhere. dmci runs its
 * TypeScript sources through tsx, so this is undefined and each worker registers tsx in its
 * own thread and imports worker.ts (pool.ts), about a second of CPU per worker. A build that
 * compiles the sources replaces this module with the URL of its compiled worker.ts, which
 * loads in a fraction of that: the test suite does (test/helpers/prebuilt-bins.ts), for the
 * hundreds of servers it starts.
 */
export const compiledWorkerUrl: string | undefined = undefined;
