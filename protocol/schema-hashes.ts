/**
 * SHA-256 of contractAsJson() for each released protocol version. When a
 * schema changes: bump PROTOCOL_VERSION (version.ts), keep the old version in
 * SUPPORTED_PROTOCOL_VERSIONS only if the server still speaks it, and add the
 * new hash here (the failing test prints it).
 */
export const SchemaHashes: Readonly<Record<number, string>> = {
  1: 'ab6a0322c15724253630388442ff5096b6c0ba09ffd71dc1b4cbffe365d0899b',
};
