import { systemActor } from '../../server/accounts/actor.ts';
import type { LdapLimits } from '../../server/ldap/ldap-limits.ts';
import { seedGal } from '../helpers/ldap.ts';
import { DEFAULT_PASSWORD, startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * One small GAL for the LDAP end-to-end tests: two domains, people with every
 * attribute, a group with a hidden member, a room, an entry without an
 * address, hidden and deleted entries, a disabled account, and fillers for
 * paging.
 */
export const BASE = 'ou=gal,dc=example,dc=com';
export const OTHER_BASE = 'ou=gal,dc=other,dc=test';
export const PASSWORD = DEFAULT_PASSWORD;
export const FILLERS = 25;
/** A 1×1 JPEG is not needed: the door passes bytes through, so any bytes tagged image/jpeg do. */
export const PHOTO = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01, 0xff, 0xd9]);

/** Visible entries of example.com: 4 accounts' people minus the disabled one, plus the seeded ones. */
export const VISIBLE_IN_EXAMPLE = 3 /* alice, admin, dave */ + 6 /* bob, abby, abe, eng, atlas, nemo */ + FILLERS;

/** Limits for an LdapSearch built by a test beside the server (a second "node"): anonymous reads allowed. */
export const SEARCH_LIMITS: LdapLimits = {
  allowAnonymous: true,
  maxSize: 1000,
  maxTimeMs: 10_000,
  maxFilterDepth: 16,
  maxFilterBytes: 4096,
  idleTimeoutMs: 300_000,
  maxConnections: 10,
  requireTls: false,
  maxConnectionsPerAddress: 10,
  maxUnreadBytes: 256 * 1024 * 1024,
  bindDeadlineMs: 10_000,
};

export async function startGalServer(env: Record<string, string> = {}): Promise<TestServer> {
  // The LDAP tests open a client per case from one address: more than the per-address default.
  const server = await startTestServer({ DMCI_LDAP_MAX_CONNECTIONS_PER_IP: '1000', ...env });
  await server.createAccount('alice@example.com', PASSWORD, 'user', 'Alice Anders');
  await server.createAccount('admin@example.com', PASSWORD, 'domain_admin', 'Ada Admin');
  await server.createAccount('dave@example.com', PASSWORD, 'user', 'Dave Dvorak');
  await server.createAccount('carol@example.com', PASSWORD, 'user', 'Carol Closed');
  await server.app.services.accounts.setEnabled(systemActor, 'carol@example.com', false);
  await server.createAccount('olga@other.test', PASSWORD, 'user', 'Olga Other');
  await server.createAccount('root@ops.test', PASSWORD, 'global_admin', 'Root Operator');
  await seedGal(server.app.db, 'example.com', [
    { email: 'alice@example.com', displayName: 'Alice Anders', givenName: 'Alice', surname: 'Anders', title: 'CEO' },
    {
      email: 'bob@example.com',
      displayName: 'Bob Brown',
      givenName: 'Bob',
      surname: 'Brown',
      title: 'Engineer',
      department: 'R&D',
      company: 'Example Inc',
      office: 'HQ 3.14',
      businessPhone: '+1 555 0100',
      mobilePhone: '+1 555 0199',
      managerEmail: 'alice@example.com',
      aliases: ['bobby@example.com', 'b.brown@example.com'],
      photo: PHOTO,
    },
    { email: 'abby@example.com', displayName: 'Abby Abbott', givenName: 'Abby', surname: 'Abbott', department: 'Sales', managerEmail: 'harry@example.com' },
    { email: 'abe.zed@example.com', displayName: 'Abe Zed', givenName: 'Abe', surname: 'Zed', title: 'Zed (the *real* one) \\o/' },
    { email: 'harry@example.com', displayName: 'Harry Hidden', givenName: 'Harry', surname: 'Hidden', hidden: true, aliases: ['hh@example.com'] },
    { email: 'dora@example.com', displayName: 'Dora Deleted', givenName: 'Dora', surname: 'Deleted', deleted: true },
    { kind: 'group', email: 'eng@example.com', displayName: 'Engineering', members: ['bob@example.com', 'abby@example.com', 'harry@example.com'] },
    { kind: 'resource', email: 'atlas@example.com', displayName: 'Room Atlas', resourceType: 'room', capacity: 12, location: 'Floor 2' },
    { displayName: 'Nemo NoMail', givenName: 'Nemo', surname: 'NoMail', title: 'Contractor' },
    ...Array.from({ length: FILLERS }, (_, k) => ({ email: `filler${String(k).padStart(2, '0')}@example.com`, displayName: `Filler ${String(k).padStart(2, '0')}`, surname: 'Filler' })),
  ]);
  await seedGal(server.app.db, 'other.test', [{ email: 'otto@other.test', displayName: 'Otto Other', givenName: 'Otto' }]);
  return server;
}
