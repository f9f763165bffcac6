import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CloseCode, ErrorCode, HandshakeErrorCode, Methods } from '../../protocol/index.ts';

/** docs/protocol.md is the contract connector authors read: everything in protocol/ must be in it. */
const doc = readFileSync(new URL('../../docs/protocol.md', import.meta.url), 'utf8');

describe('docs/protocol.md', () => {
  it.each(Object.keys(Methods))('documents the method %s', (method) => {
    expect(doc).toContain(`\`${method}\``);
  });
  it.each(Object.values({ ...ErrorCode, ...HandshakeErrorCode }))('documents the error code %s', (code) => {
    expect(doc).toContain(`\`${code}\``);
  });
  it.each(Object.entries(CloseCode))('documents the close code %s', (name, code) => {
    expect(doc).toMatch(new RegExp(`\\| ${code} \\| \`${name}\``));
  });
});
