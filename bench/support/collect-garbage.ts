/**
 * A full collection in the benchmark process, between measured blocks (npm run bench runs Node
 * with --expose-gc): what a baseline allocated is then not collected during the next measured
 * operation and charged to it. Does nothing when gc is not exposed.
 */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}
