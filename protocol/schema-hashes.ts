/**
 * SHA-256 of contractAsJson() for each released protocol version. When a
 * schema changes: bump PROTOCOL_VERSION (version.ts), keep the old version in
 * SUPPORTED_PROTOCOL_VERSIONS only if the server still speaks it, and add the
 * new hash here (the failing test prints it).
 */
export const SchemaHashes: Readonly<Record<number, string>> = {
  1: '64b860e3a25a596d77eb44b36339effd74eb3e0857c7c092f0d0fb5d9aca6619',
};
