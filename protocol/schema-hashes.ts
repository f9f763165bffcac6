/**
 * SHA-256 of contractAsJson() for each released protocol version. When a
 * schema changes: bump PROTOCOL_VERSION (version.ts), keep the old version in
 * SUPPORTED_PROTOCOL_VERSIONS only if the server still speaks it, and add the
 * new hash here (the failing test prints it).
 */
export const SchemaHashes: Readonly<Record<number, string>> = {
  1: '697af4b4e03f5ba216562eb457188408d2b496e708c04227c1bbd31795a90bb4',
};
