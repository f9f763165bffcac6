import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contractAsJson, PROTOCOL_VERSION, SchemaHashes, SUPPORTED_PROTOCOL_VERSIONS } from '../../protocol/index.ts';

/**
 * The contract must not change under a released protocol version: a connector
 * built against version N relies on every schema of N. This hashes the whole
 * contract (envelopes and every method's args and result) and compares it
 * with the hash recorded for PROTOCOL_VERSION.
 */
describe('protocol schema hash', () => {
  it(`matches the hash recorded for protocol version ${PROTOCOL_VERSION}`, () => {
    const hash = createHash('sha256').update(JSON.stringify(contractAsJson())).digest('hex');
    const recorded = SchemaHashes[PROTOCOL_VERSION];
    if (hash !== recorded) {
      expect.fail(
        [
          `The protocol schemas changed: their hash is now\n\n    ${hash}\n`,
          `but protocol/schema-hashes.ts records ${JSON.stringify(recorded)} for version ${PROTOCOL_VERSION}.`,
          `A released protocol version never changes shape. Bump PROTOCOL_VERSION in protocol/version.ts,`,
          `add the new version to SUPPORTED_PROTOCOL_VERSIONS (keep the old one only if the server still speaks it),`,
          `and record the hash above for the new version in protocol/schema-hashes.ts.`,
          `(During initial development of version 1 nothing is released: just re-record the hash for 1.)`,
        ].join('\n'),
      );
    }
  });

  it('is stable: the contract serialises the same way twice', () => {
    expect(JSON.stringify(contractAsJson())).toBe(JSON.stringify(contractAsJson()));
  });

  it('has a recorded hash for every version the server speaks', () => {
    for (const version of SUPPORTED_PROTOCOL_VERSIONS) expect(SchemaHashes[version], `version ${version}`).toMatch(/^[0-9a-f]{64}$/);
  });
});
