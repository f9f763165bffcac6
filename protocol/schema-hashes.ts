/**
 * SHA-256 of contractAsJson() for each released protocol version. When a
 * schema changes: bump PROTOCOL_VERSION (version.ts), keep the old version in
 * SUPPORTED_PROTOCOL_VERSIONS only if the server still speaks it, and add the
 * new hash here (the failing test prints it).
 */
export const SchemaHashes: Readonly<Record<number, string>> = {
  1: '00c0c3266520af2a60f8d7f1642ebf003f57ce6f6222c404af1e5b0c8117fb2c',
};
