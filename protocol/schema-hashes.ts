/**
 * SHA-256 of contractAsJson() for each released protocol version. When a
 * schema changes: bump PROTOCOL_VERSION (version.ts), keep the old version in
 * SUPPORTED_PROTOCOL_VERSIONS only if the server still speaks it, and add the
 * new hash here (the failing test prints it).
 */
export const SchemaHashes: Readonly<Record<number, string>> = {
  1: 'c66acb447733d3d4e0d8efa1864e704b3593ce5e123609757b04b1919799dbd4',
};
