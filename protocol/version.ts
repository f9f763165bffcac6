/**
 * Protocol versions this build speaks. A client's `hello` lists the versions
 * it speaks; the server picks the highest one both know.
 *
 * Bump PROTOCOL_VERSION whenever a schema in protocol/ changes shape, and
 * record the new schema hash in schema-hashes.ts (test/protocol/schema-hash
 * fails until you do).
 */
export const PROTOCOL_VERSION = 1;
export const SUPPORTED_PROTOCOL_VERSIONS: readonly number[] = [1];

/** Picks the highest version both sides speak, or null when there is none. */
export function negotiateVersion(clientVersions: readonly number[]): number | null {
  let best: number | null = null;
  for (const v of clientVersions) {
    if (SUPPORTED_PROTOCOL_VERSIONS.includes(v) && (best === null || v > best)) best = v;
  }
  return best;
}
