import { describe, expect, it } from 'vitest';
import { IpScreen } from '../../server/security/ip-screen.ts';

describe('IpScreen', () => {
  it('answers trusted, deny and allow by address and CIDR block, IPv4 and IPv6', () => {
    const screen = new IpScreen({ allow: ['10.0.0.0/8', '::1'], deny: ['10.6.6.6'], trusted: ['10.1.0.0/16'] });
    expect(screen.isTrusted('10.1.2.3')).toBe(true);
    expect(screen.isTrusted('10.2.2.3')).toBe(false);
    expect(screen.refusal('10.1.2.3')).toBeUndefined();
    expect(screen.refusal('10.6.6.6')).toBe('address is on the deny list');
    expect(screen.refusal('192.0.2.1')).toBe('address is not on the allow list');
    expect(screen.refusal('::1')).toBeUndefined();
    expect(screen.isTrusted('not an address')).toBe(false);
  });

  it('remembers verdicts only until the lists change', () => {
    const screen = new IpScreen({ allow: [], deny: [], trusted: ['192.0.2.0/24'] });
    expect(screen.isTrusted('192.0.2.7')).toBe(true);
    screen.setLists({ allow: [], deny: [], trusted: [] });
    expect(screen.isTrusted('192.0.2.7')).toBe(false);
    screen.setLists({ allow: [], deny: [], trusted: ['192.0.2.7'] });
    expect(screen.isTrusted('192.0.2.7')).toBe(true);
  });

  it('stays right past the memo bound (a distributed flood of distinct addresses)', () => {
    const screen = new IpScreen({ allow: [], deny: [], trusted: ['198.51.100.0/24'] });
    for (let i = 0; i < 25_000; i++) expect(screen.isTrusted(`203.0.${(i >> 8) & 255}.${i & 255}`)).toBe(false);
    expect(screen.isTrusted('198.51.100.9')).toBe(true);
  });
});
